"""What support agents do to a case, normalized like `InboundEvent` is for customers: plain
dataclasses, no SDK types, so the app handles claim/resolve/reply without knowing the desk's platform."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, Union

from bot.base.events import make_storable


class AgentActionKind(str, enum.Enum):
    CLAIM = "claim"        # the Claim button on a case card
    RESOLVE = "resolve"    # the Resolve button on a case card
    REPLY = "reply"        # a human's message in a case thread (or a sent saved reply): relay it
    NOTE = "note"          # a private note for colleagues: posted in the thread, never relayed
    RELEASE = "release"    # the owner gives the case back to the queue
    ASSIGN = "assign"      # hand the case to a named agent (`value`: their user id)
    SNOOZE = "snooze"      # `value`: "1h", "4h", "tomorrow" or "customer" (until they write)
    HISTORY = "history"    # show the customer's past orders, scores and cases (to the agent only)
    GOODWILL = "goodwill"  # issue a goodwill code from the weekly budget
    OPEN_FORM = "open_form"        # a button that opens a form (`value`: note, snooze, saved_reply)
    FORM_CHOICE = "form_choice"    # a choice inside an open form (`value`) that redraws it


@dataclass(frozen=True)
class AgentAction:
    """One agent action on one case.

    `case_ref` is the case id (the button's value) for claim/resolve and the case card's
    message ts (the thread) for replies; the app maps either to its case. `event_id` is unique
    per delivery so the app can process each action once. `channel_id`/`message_ts` say where
    it happened (the card, or the reply itself), for card updates and ephemeral refusals."""

    kind: AgentActionKind
    case_ref: str
    agent_id: str
    event_id: str
    at: datetime
    text: str = ""
    channel_id: str = ""
    message_ts: str = ""
    value: str = ""         # the chosen option: a user id, a snooze, a saved reply, a form kind
    trigger_id: str = ""    # the platform's handle for opening a form in answer (valid seconds only)
    form_id: str = ""       # the open form a FORM_CHOICE happened in (to redraw it)

    def __post_init__(self) -> None:
        make_storable(self)


AgentActionHandler = Callable[[AgentAction], Awaitable[None]]


@dataclass(frozen=True)
class FormField:
    """One input of a form: `text` (multiline when `multiline`), `select` among `options`
    ((label, value) pairs; `dispatch`: choosing redraws the form at once) or `user` (a person)."""

    name: str
    label: str
    kind: str = "text"
    options: tuple[tuple[str, str], ...] = ()
    initial: str = ""
    multiline: bool = True
    optional: bool = False
    dispatch: bool = False
    version: str = ""       # a new version drops what the agent typed for `initial` (a redraw)


@dataclass(frozen=True)
class Form:
    """A small form the desk opens for an agent (a modal): `kind` says what submitting
    it does (note, snooze, saved_reply), `case_ref` the case it is about."""

    kind: str
    case_ref: str
    title: str
    submit: str
    fields: tuple[FormField, ...]
    intro: str = ""


@dataclass(frozen=True)
class Notice:
    """A line only the acting agent sees, starting with real mentions of `mentions` (user ids)."""

    text: str
    mentions: tuple[str, ...] = ()


DeskAnswer = Union[str, Notice, Form, None]
"""What an agent action gets back: a line only that agent sees (text, or a `Notice` naming
someone), a form to open or redraw, or nothing."""
