"""Slack request bodies -> our normalized events. Pure functions over the JSON Slack sends
(no SDK), so they are tested with captured payloads and reused by HTTP and Socket Mode."""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Optional

from bot.base.agent_events import AgentAction, AgentActionKind
from bot.channels import slack_forms
from bot.channels.slack_blocks import (
    ASSIGN_ACTION, CLAIM_ACTION, GOODWILL_ACTION, HISTORY_ACTION, NOTE_ACTION, RELEASE_ACTION, RESOLVE_ACTION,
    SAVED_REPLY_ACTION, SNOOZE_ACTION,
)
from bot.base.events import InboundEvent, InboundKind

CHANNEL = "slack"
# message subtypes a person produces; every other subtype (message_changed, bot_message,
# channel_join, message_replied, ...) is Slack bookkeeping, not something a person said
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


class RecentIds:
    """A bounded set of recently seen ids (oldest forgotten first)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, item: str) -> bool:
        """Remember `item`; True when it was already there."""
        if item in self._ids:
            self._ids.move_to_end(item)
            return True
        self._ids[item] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)


def slack_time(ts: Any) -> datetime:
    """A Slack ts ("1700000000.000100") as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):   # not a number, or out of range
        return datetime.now(timezone.utc)


def _from_person(event: dict, bot_user_id: str) -> bool:
    return (event.get("type") == "message" and event.get("subtype") in HUMAN_SUBTYPES
            and not event.get("bot_id") and isinstance(event.get("user"), str) and bool(event.get("user"))
            and event.get("user") != bot_user_id)


def customer_message(event: dict, event_id: str, bot_user_id: str) -> Optional[InboundEvent]:
    """A person's message in their DM with the bot (`message.im`) -> TEXT, or MEDIA when
    files are attached; None for anything else."""
    if event.get("channel_type") != "im" or not _from_person(event, bot_user_id):
        return None
    files = [f for f in event.get("files") or [] if isinstance(f, dict)]
    common: dict[str, Any] = dict(channel=CHANNEL, event_id=event_id, address=str(event["user"]),
                  at=slack_time(event.get("ts")), text=str(event.get("text") or ""))
    if files:
        images = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
        refs = tuple(str(f.get("url_private") or f.get("id")) for f in (images or files))
        return InboundEvent(kind=InboundKind.MEDIA, photo_ids=refs if images else (),
                            media_type="photo" if images else "file", **common)
    return InboundEvent(kind=InboundKind.TEXT, **common)


def agent_reply(event: dict, event_id: str, bot_user_id: str) -> Optional[AgentAction]:
    """A person's reply in a channel thread -> AgentAction REPLY on the thread's case."""
    thread_ts = event.get("thread_ts")
    if (event.get("channel_type") == "im" or not thread_ts or thread_ts == event.get("ts")
            or not _from_person(event, bot_user_id)):
        return None
    return AgentAction(kind=AgentActionKind.REPLY, case_ref=str(thread_ts),
                       agent_id=str(event["user"]), event_id=event_id,
                       at=slack_time(event.get("ts")), text=str(event.get("text") or ""),
                       channel_id=str(event.get("channel") or ""),
                       message_ts=str(event.get("ts") or ""))


def _click(body: dict) -> Optional[tuple[dict, dict, str]]:
    """(action, container, event id) of a one-button block_actions body."""
    actions = body.get("actions") or []
    if body.get("type") != "block_actions" or not actions or not (body.get("user") or {}).get("id"):
        return None
    action = actions[0]
    container = body.get("container") or {}
    message_ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
    event_id = f"{message_ts}:{action.get('action_ts')}" if action.get("action_ts") else str(body.get("trigger_id") or "")
    return action, container, event_id


def customer_click(body: dict) -> Optional[InboundEvent]:
    """A tap on a check-in button -> BUTTON with the button's value, replying to the message."""
    click = _click(body)
    if click is None:
        return None
    action, container, event_id = click
    return InboundEvent(
        channel=CHANNEL, event_id=event_id, address=str(body["user"]["id"]),
        kind=InboundKind.BUTTON, at=slack_time(action.get("action_ts")),
        text=str((action.get("text") or {}).get("text") or ""),
        button_value=str(action.get("value") or ""),
        reply_to=str(container.get("message_ts") or "") or None,
    )


# case card buttons: (kind, the form it opens)
CARD_BUTTONS = {
    CLAIM_ACTION: (AgentActionKind.CLAIM, ""), RESOLVE_ACTION: (AgentActionKind.RESOLVE, ""),
    RELEASE_ACTION: (AgentActionKind.RELEASE, ""), HISTORY_ACTION: (AgentActionKind.HISTORY, ""),
    GOODWILL_ACTION: (AgentActionKind.GOODWILL, ""), NOTE_ACTION: (AgentActionKind.OPEN_FORM, "note"),
    SNOOZE_ACTION: (AgentActionKind.OPEN_FORM, "snooze"),
    SAVED_REPLY_ACTION: (AgentActionKind.OPEN_FORM, "saved_reply"),
}
# what submitting a form does
FORM_KINDS = {"note": AgentActionKind.NOTE, "snooze": AgentActionKind.SNOOZE, "saved_reply": AgentActionKind.REPLY}


def agent_click(body: dict) -> Optional[AgentAction]:
    """A button on a case card -> AgentAction with the case id from the button's value; the
    "Hand to" people picker -> ASSIGN of the card's case (by its ts) to the chosen person."""
    click = _click(body)
    if click is None:
        return None
    action, container, event_id = click
    action_id = str(action.get("action_id"))
    message_ts = str(container.get("message_ts") or "")
    if action_id == ASSIGN_ACTION:
        kind, case_ref, value = AgentActionKind.ASSIGN, message_ts, str(action.get("selected_user") or "")
        if not value or not case_ref:
            return None
    else:
        found, value = CARD_BUTTONS.get(action_id, (None, ""))
        if found is None or not action.get("value"):
            return None
        kind, case_ref = found, str(action["value"])
    return AgentAction(kind=kind, case_ref=case_ref, value=value, agent_id=str(body["user"]["id"]),
                       event_id=event_id, at=slack_time(action.get("action_ts")),
                       channel_id=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
                       message_ts=message_ts, trigger_id=str(body.get("trigger_id") or ""))


def note_shortcut(body: dict) -> Optional[AgentAction]:
    """The message shortcut on a case card or a post in its thread -> open the note form."""
    message = body.get("message") or {}
    user = (body.get("user") or {}).get("id")
    ref = message.get("thread_ts") or message.get("ts")
    if body.get("type") != "message_action" or not user or not ref:
        return None
    return AgentAction(kind=AgentActionKind.OPEN_FORM, case_ref=str(ref), agent_id=str(user),
                       event_id=f"shortcut:{body.get('trigger_id') or body.get('action_ts')}",
                       at=slack_time(body.get("action_ts")), value="note",
                       channel_id=str((body.get("channel") or {}).get("id") or ""),
                       message_ts=str(message.get("ts") or ""), trigger_id=str(body.get("trigger_id") or ""))


def form_choice(body: dict) -> Optional[AgentAction]:
    """A choice inside an open form that redraws it (a saved reply picked from the menu)."""
    view = body.get("view") or {}
    actions = body.get("actions") or []
    user = (body.get("user") or {}).get("id")
    if body.get("type") != "block_actions" or not actions or not user or not view.get("id"):
        return None
    action = actions[0]
    chosen = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
    case_ref, channel = slack_forms.metadata(view)
    return AgentAction(kind=AgentActionKind.FORM_CHOICE, case_ref=case_ref, channel_id=channel,
                       agent_id=str(user), event_id=f"{view['id']}:{action.get('action_ts')}",
                       at=slack_time(action.get("action_ts")), value=chosen, form_id=str(view["id"]),
                       trigger_id=str(body.get("trigger_id") or ""))


def form_submission(body: dict) -> Optional[AgentAction]:
    """A submitted form (view_submission) -> the action it stands for: a note, a snooze, a
    saved reply (a REPLY whose `value` names it)."""
    view = body.get("view") or {}
    user = (body.get("user") or {}).get("id")
    kind = FORM_KINDS.get(slack_forms.form_kind(view) or "")
    if body.get("type") != "view_submission" or kind is None or not user or not view.get("id"):
        return None
    entered = slack_forms.values(view)
    value = entered.get("choice", "") if kind is AgentActionKind.SNOOZE else entered.get("reply", "")
    case_ref, channel = slack_forms.metadata(view)
    return AgentAction(kind=kind, case_ref=case_ref, agent_id=str(user),
                       event_id=f"{view['id']}:submit", at=datetime.now(timezone.utc),
                       text=entered.get("text", ""), value=value, channel_id=channel)
