"""What agents do to a case besides claim, reply and resolve (bot/conversation/cases.py): private notes,
release and hand-over, snoozes, saved replies, the customer's history, goodwill codes; and
what the desk tells the thread by itself: SLA warnings, the end of a snooze, a customer who
said STOP or cannot be reached. Every change is made inside the caller's transaction and
every post goes through the outbox (bot/desk/posts.py)."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from bot.base.agent_events import AgentAction, AgentActionKind, DeskAnswer, Form, FormField, Notice
from bot.base.clock import parse_iso
from bot.config.settings import Settings
import bot.desk.saved_replies as sr
from bot.desk.history import history_text
from bot.base.kinds import CaseStatus, Owner
from bot.store.rows import CaseRow
from bot.store.store import Store
from bot.desk.posts import queue_card_update, queue_thread

SNOOZES = (("1 hour", "1h"), ("4 hours", "4h"), ("Until tomorrow morning", "tomorrow"),
           ("Until the customer writes", "customer"))
NOTE_MARK = "🔒 Internal note (never sent to the customer):"
CHANNEL_MENTION = "!channel"


def owns_note(owner: str) -> Notice:
    """The answer to anyone but the owner who tries to speak for the case."""
    return Notice("owns this case; add a note instead (the Note button, or the message's "
                  "shortcut \"Add a private note\").", (owner,))


class DeskActions:
    """The desk's actions on one store. `replies` is the shop's saved replies."""

    def __init__(self, store: Store, settings: Settings, replies: sr.SavedReplies) -> None:
        self.store = store
        self.settings = settings
        self.replies = replies
        self.channel = settings.escalation.support_channel

    def handle(self, case: CaseRow, action: AgentAction, now: datetime) -> DeskAnswer:
        """Apply one of the desk's own actions (inside the caller's transaction)."""
        kind = action.kind
        if case.status == CaseStatus.RESOLVED and kind is not AgentActionKind.HISTORY:
            return "This case is resolved."
        if kind is AgentActionKind.NOTE:
            return self.note(case, action.agent_id, action.text, now)
        if kind is AgentActionKind.RELEASE:
            return self.release(case, action.agent_id, now)
        if kind is AgentActionKind.ASSIGN:
            return self.assign(case, action.agent_id, action.value, now)
        if kind is AgentActionKind.SNOOZE:
            return self.snooze(case, action.agent_id, action.value, now)
        if kind is AgentActionKind.HISTORY:
            self.store.desk.record(case.id, action.agent_id, "history", now)
            return history_text(self.store, case)
        if kind is AgentActionKind.GOODWILL:
            code, refusal = self.goodwill(case, action.agent_id, now)
            return refusal
        if kind is AgentActionKind.OPEN_FORM:
            return self.form(case, action.agent_id, action.value)
        if kind is AgentActionKind.FORM_CHOICE:
            return self.saved_reply_form(case, action.value)
        return f"Unknown desk action {kind.value!r}."

    # ---- notes and ownership ---------------------------------------------------------------

    def note(self, case: CaseRow, agent: str, text: str, now: datetime) -> DeskAnswer:
        if not text.strip():
            return "An empty note: nothing was posted."
        queue_thread(self.store, self.channel, case.id, case.conversation_id, f"{NOTE_MARK}\n{text}", now,
                     mentions=[agent], internal=True)
        self.store.desk.record(case.id, agent, "note", now, text)
        return None

    def claim(self, case: CaseRow, agent: str, now: datetime) -> bool:
        """Compare-and-set: True when `agent` took the open case (the SLA now counts to a reply)."""
        escalation, zone = self.settings.escalation, self.settings.schedule.timezone
        due = escalation.sla_due(case.reason, now, zone)
        warn = escalation.sla_due(case.reason, now, zone, share=escalation.sla_warning)
        if not self.store.desk.claim(case.id, agent, now, due, warn):
            return False
        self.store.conversations.set_owner(case.conversation_id, Owner.HUMAN.value, now)
        self.store.desk.record(case.id, agent, "claim", now)
        queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
        return True

    def release(self, case: CaseRow, agent: str, now: datetime) -> DeskAnswer:
        if case.status != CaseStatus.CLAIMED:
            return "This case has no owner to release."
        if case.agent != agent or not self.store.desk.release(case.id, agent):
            return Notice("owns this case; only they can release it.", (str(case.agent),))
        queue_thread(self.store, self.channel, case.id, case.conversation_id,
                     "released the case: it is back in the queue for anyone to claim.", now, mentions=[agent])
        queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
        self.store.desk.record(case.id, agent, "release", now)
        return None

    def assign(self, case: CaseRow, agent: str, to: str, now: datetime) -> DeskAnswer:
        if not to:
            return "Pick the agent to hand the case to."
        if case.status == CaseStatus.CLAIMED and case.agent == to:
            return Notice("owns this case already.", (to,))
        if case.status == CaseStatus.CLAIMED and case.agent != agent:
            return owns_note(str(case.agent))
        if case.status == CaseStatus.OPEN:
            won = self.claim(case, to, now)
        else:
            won = self.store.desk.hand_over(case.id, case.agent, to)
            if won:
                queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
        if not won:
            fresh = self.store.cases.require(case.id)
            return owns_note(str(fresh.agent)) if fresh.agent else "The case changed meanwhile; try again."
        queue_thread(self.store, self.channel, case.id, case.conversation_id,
                     f"now owns this case (handed over by {agent_ref(agent)}); their thread replies go to "
                     "the customer.", now, mentions=[to])
        self.store.desk.record(case.id, agent, "assign", now, to)
        return None

    # ---- snoozes ---------------------------------------------------------------------------

    def snooze(self, case: CaseRow, agent: str, choice: str, now: datetime) -> DeskAnswer:
        if case.status == CaseStatus.CLAIMED and case.agent != agent:
            return owns_note(str(case.agent))
        until: Optional[datetime]
        if choice == "customer":
            until, said = None, "until the customer writes"
        elif choice in ("1h", "4h"):
            until = now + timedelta(hours=int(choice[0]))
            said = f"until {_when(until)}"
        elif choice == "tomorrow":
            until = self._tomorrow_morning(now)
            said = f"until {_when(until)}"
        else:
            return f"Unknown snooze {choice!r} (1h, 4h, tomorrow, customer)."
        self.store.desk.snooze(case.id, until, choice == "customer", now)
        queue_thread(self.store, self.channel, case.id, case.conversation_id,
                     f"snoozed the case {said}: the SLA clock is paused meanwhile. A message from the "
                     "customer ends the snooze at once.", now, mentions=[agent])
        queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
        self.store.desk.record(case.id, agent, "snooze", now, choice)
        return None

    def unsnooze(self, case: CaseRow, why: str, now: datetime) -> None:
        due = self.store.desk.unsnooze(case.id, now)
        if due is None:
            return
        owner = [case.agent] if case.agent else []
        queue_thread(self.store, self.channel, case.id, case.conversation_id,
                     f"Snooze over ({why}): the SLA clock runs again, due {_when(due)}.", now, mentions=owner)
        queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
        self.store.desk.record(case.id, None, "unsnooze", now, why)

    def _tomorrow_morning(self, now: datetime) -> datetime:
        """The next opening of business hours after today (09:00 in the shop's zone without)."""
        hours = self.settings.escalation.business_hours
        zone = ZoneInfo((hours.timezone if hours else None) or self.settings.schedule.timezone)
        midnight = (now.astimezone(zone) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if hours is None:
            return midnight.replace(hour=9).astimezone(timezone.utc)
        return hours.add_minutes(midnight, 0, str(zone)).astimezone(timezone.utc)

    # ---- goodwill --------------------------------------------------------------------------

    def goodwill(self, case: CaseRow, agent: str, now: datetime) -> tuple[Optional[str], Optional[str]]:
        """(code, None), or (None, why not): this week's budget is spent."""
        settings = self.settings.escalation.goodwill
        week = (now.astimezone(timezone.utc) - timedelta(days=now.astimezone(timezone.utc).weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0)
        given = self.store.desk.goodwill_issued(week, week + timedelta(days=7))
        if given >= settings.per_week:
            self.store.desk.record(case.id, agent, "goodwill_refused", now)
            return None, (f"No goodwill code: this week's budget of {settings.per_week} is spent "
                          f"({given} given since {week:%a %Y-%m-%d}); it renews on "
                          f"{week + timedelta(days=7):%a %Y-%m-%d}.")
        code = ""
        for _ in range(10):
            code = settings.prefix + secrets.token_hex(3).upper()
            if self.store.desk.issue_goodwill(code, case, agent, now):
                break
        queue_thread(self.store, self.channel, case.id, case.conversation_id,
                     f"issued goodwill code {code} ({settings.value}), {given + 1} of {settings.per_week} this "
                     "week. Put it in your reply, or send a saved reply with {goodwill_code}.", now,
                     mentions=[agent])
        self.store.desk.record(case.id, agent, "goodwill", now, code)
        return code, None

    def fill_goodwill(self, case: CaseRow, agent: str, text: str, now: datetime) -> tuple[str, Optional[str]]:
        """A reply that carries {goodwill_code}: a code is issued now; (text, refusal)."""
        if sr.GOODWILL not in text:
            return text, None
        code, refusal = self.goodwill(case, agent, now)
        if code is None:
            return text, f"Nothing was sent. {refusal}"
        return text.replace(sr.GOODWILL, code), None

    # ---- forms and saved replies -----------------------------------------------------------

    def form(self, case: CaseRow, agent: str, kind: str) -> DeskAnswer:
        ref = str(case.id)
        if kind == "note":
            return Form("note", ref, "Private note", "Post note",
                        (FormField("text", "For colleagues only: never sent to the customer"),),
                        intro=f"Case {case.id}: the note goes in its thread, marked internal.")
        if case.status == CaseStatus.CLAIMED and case.agent != agent:
            return owns_note(str(case.agent))
        if kind == "snooze":
            return Form("snooze", ref, "Snooze", "Snooze",
                        (FormField("choice", "Snooze the case", kind="select", options=SNOOZES),),
                        intro="The SLA clock pauses while the case sleeps.")
        if kind == "saved_reply":
            if not self.replies.replies:
                return f"No saved replies yet: write them in {self.settings.escalation.saved_replies}."
            return self.saved_reply_form(case, "")
        return f"Unknown form {kind!r}."

    def saved_reply_form(self, case: CaseRow, reply_id: str) -> DeskAnswer:
        """The saved-reply form; with `reply_id`, its text filled in for this customer, editable."""
        options = tuple((r.title, r.id) for r in self.replies.replies)
        text, intro = "", "Pick a reply: its text appears below, in the customer's language when it has one."
        if reply_id:
            reply = self.replies.get(reply_id)
            if reply is None:
                return f"No saved reply {reply_id!r}."
            text, language = self.render(case, reply)
            intro = (f"In {language}, the customer's language. " if language else
                     "In the shop's own words (no translation for this customer). ") + \
                "Edit before sending; {goodwill_code} becomes a new code when it is sent."
        return Form("saved_reply", str(case.id), "Saved reply", "Send to customer",
                    (FormField("reply", "Saved reply", kind="select", options=options, initial=reply_id,
                               dispatch=True),
                     FormField("text", "Message to the customer", initial=text, optional=not reply_id,
                               version=reply_id)),
                    intro=intro)

    def render(self, case: CaseRow, reply: sr.SavedReply) -> tuple[str, str]:
        """(text for this case's customer, language tag used or "")."""
        store = self.store
        customer = store.customers.get(case.customer_id)
        conversation = store.conversations.get(case.conversation_id)
        identity = store.customers.identity(conversation.identity_id)
        language = customer.speaks(self.settings.languages.enabled, self.settings.languages.default,
                                   identity.language_code)
        text, used = reply.in_language(language)
        items = store.orders.items(case.order_id) if case.order_id else []
        item = next((i for i in items if i.sku == conversation.sku), items[0] if items else None)
        tracking = self.settings.escalation.tracking_url
        facts = {
            "first_name": (customer.name or "").split(" ")[0] or None,
            "product": item.product if item else None,
            "order_id": case.order_id,
            "tracking_url": tracking.replace("{order_id}", case.order_id) if tracking and case.order_id else None,
        }
        return sr.render(text, facts), used

    # ---- what the desk says by itself ------------------------------------------------------

    def tick(self, now: datetime) -> int:
        """Snoozes that ran out, 75 % SLA warnings, customers who said STOP or became unreachable."""
        done = 0
        for case in self.store.desk.snoozes_over(now):
            self.unsnooze(case, "its time came", now)
            done += 1
        for case in self.store.desk.warnings_due(now):
            due = parse_iso(case.sla_due_at)
            who = [case.agent] if case.status == CaseStatus.CLAIMED and case.agent else [self._channel_ping()]
            share = round(self.settings.escalation.sla_warning * 100)
            waiting = "a first reply" if case.status == CaseStatus.CLAIMED else "an owner"
            queue_thread(self.store, self.channel, case.id, case.conversation_id,
                         f"SLA warning: {share}% of the SLA is used and the case still waits for {waiting}; "
                         f"it breaches at {_when(due) if due else '?'}.", now, mentions=who)
            self.store.cases.update(case.id, sla_warned=1)
            self.store.desk.record(case.id, None, "sla_warning", now)
            done += 1
        for case, state in self.store.desk.state_changes():
            text = ("The customer said STOP: nothing more reaches them, replies included. Resolve closes "
                    "the case without messaging them." if state == "stop" else
                    "The customer can't be reached any more (blocked the bot or left the platform): nothing "
                    "more reaches them. Resolve closes the case without messaging them.")
            owner = [case.agent] if case.agent else []
            queue_thread(self.store, self.channel, case.id, case.conversation_id, text, now, mentions=owner)
            self.store.cases.update(case.id, state_noted=state)
            self.store.desk.record(case.id, None, f"customer_{state}", now)
            queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)
            done += 1
        return done

    def _channel_ping(self) -> str:
        return self.settings.escalation.mention_group or CHANNEL_MENTION


def agent_ref(agent: str) -> str:
    """How a post names an agent inside its text (escaped by the desk: the id, readable)."""
    return f"@{agent}"


def _when(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
