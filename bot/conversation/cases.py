"""The agents' side of an escalation: case cards, claim, reply relay, resolve, SLA reminders.

Everything posted to the support channel goes through the outbox like customer messages do;
the dispatcher renders the card from the store at send time so it is never stale.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from bot.base.agent_events import AgentAction, AgentActionKind, DeskAnswer, Notice
from bot.channels.base import SupportDesk
from bot.base.clock import Clock, parse_iso
from bot.config.settings import Settings
from bot.conversation.context import customer_language
from bot.desk import DeskActions, SavedReplies, load_saved_replies, owns_note
from bot.desk.history import repeat_line
from bot.i18n.catalogs import language_label
from bot.engine.machine import Handback, Owner, Timer
from bot.base.events import SendResult, SendStatus
from bot.conversation.runner import ConversationRunner
from bot.base.kinds import CaseStatus, OutboxKind
from bot.store.rows import CaseRow, OutboxRow
from bot.store.store import Store
from bot.desk.posts import SUPPORT, queue_card_update, queue_thread

log = logging.getLogger(__name__)
__all__ = ["SUPPORT", "CaseHandler", "DeskPosts"]


class CaseHandler:
    """Turns escalations into support-channel posts and agent actions into conversation changes.
    (The support desk itself, where agents work, is the platform's `SupportDesk`.)"""

    def __init__(self, store: Store, runner: ConversationRunner, settings: Settings,
                 replies: Optional[SavedReplies] = None) -> None:
        self.store = store
        self.runner = runner
        self.settings = settings
        self.channel = settings.escalation.support_channel
        if replies is None:
            replies = load_saved_replies(settings.resolve(settings.escalation.saved_replies),
                                         settings.languages.enabled)
        self.desk = DeskActions(store, settings, replies)

    # ---- from the customer side --------------------------------------------------------

    def customer_wrote(self, case: CaseRow, text: str, photos: tuple[str, ...], now: datetime) -> None:
        """A message from the customer while a case is open goes to its thread, nowhere else."""
        if photos:
            self.store.cases.add_photos(case.id, list(photos))
        body = text or ""
        if photos:
            body = (body + "\n" if body else "") + f"[{len(photos)} photo(s) attached to the case]"
        self._thread(case, f"Customer: {body}", now, customer_text=True)
        if case.snoozed:
            self.desk.unsnooze(case, "the customer wrote", now)

    # ---- from the agents ---------------------------------------------------------------

    def authorized(self, agent_id: str, is_member: bool) -> bool:
        """Members of the support channel, or anyone on the configured allowlist."""
        return is_member or agent_id in self.settings.escalation.agents

    def handle(self, action: AgentAction, now: datetime) -> DeskAnswer:
        """Apply one agent action; returns what the agent is told (a refusal, their history
        view, a form to open), or None when done."""
        case = self._find(action)
        if case is None:
            return "I can't find a case for that."
        with self.store.transaction():
            if action.kind is AgentActionKind.CLAIM:
                return self._claim(case, action.agent_id, now)
            if action.kind is AgentActionKind.REPLY:
                return self._reply(case, action.agent_id, action.text, now, saved=action.value)
            if action.kind is AgentActionKind.RESOLVE:
                return self._resolve(case, action.agent_id, now)
            return self.desk.handle(case, action, now)

    def _claim(self, case: CaseRow, agent: str, now: datetime) -> DeskAnswer:
        if case.status == CaseStatus.RESOLVED:
            return "This case is already resolved."
        if case.status == CaseStatus.OPEN and self.desk.claim(case, agent, now):
            return None
        owner = (self.store.cases.get(case.id) or case).agent      # someone won the claim just before
        return None if owner == agent else owns_note(str(owner))

    def _reply(self, case: CaseRow, agent: str, text: str, now: datetime, saved: str = "") -> DeskAnswer:
        if not text.strip():    # a file-only or empty thread reply: nothing a customer could read
            return "That reply has no text, so nothing was sent to the customer."
        if case.status == CaseStatus.RESOLVED:
            return "This case is resolved; the customer's conversation is back with the bot."
        if case.status == CaseStatus.OPEN and not self.desk.claim(case, agent, now):
            case = self.store.cases.require(case.id)      # another agent claimed it a moment ago
        if case.status != CaseStatus.OPEN and case.agent != agent:
            return owns_note(str(case.agent))
        case = self.store.cases.require(case.id)
        if case.status == CaseStatus.RESOLVED:
            return "This case is resolved; the customer's conversation is back with the bot."
        conversation = self.store.conversations.get(case.conversation_id)
        identity = self.store.customers.identity(conversation.identity_id)
        if not identity.contactable:
            return "The customer can't be reached any more (opted out or blocked); nothing was sent."
        text, refusal = self.desk.fill_goodwill(case, agent, text, now)
        if refusal:
            return refusal
        outbox_id = self.store.outbox.add(identity.channel, identity.address, identity.id, conversation.id,
                                          text, now, reply=True)
        self.store.conversations.add_message(conversation.id, identity.id, "out", "agent", text, now,
                                             outbox_id=outbox_id)
        if not case.first_reply_at:
            self.store.cases.update(case.id, first_reply_at=now)
        self.store.desk.record(case.id, agent, "saved_reply" if saved else "reply", now, saved)
        return None

    def _resolve(self, case: CaseRow, agent: str, now: datetime) -> DeskAnswer:
        if case.status == CaseStatus.RESOLVED:
            return None
        if case.status == CaseStatus.CLAIMED and case.agent != agent:
            return Notice("owns this case; only they can resolve it.", (str(case.agent),))
        self.store.cases.update(case.id, status=CaseStatus.RESOLVED.value, resolved_at=now, agent=case.agent or agent)
        self.store.desk.record(case.id, agent, "resolve", now)
        self._card_update(case, now)
        conversation = self.store.conversations.get(case.conversation_id)
        identity = self.store.customers.identity(conversation.identity_id)
        if identity.contactable:
            self.runner.feed(conversation.id, Handback(), now)
        else:
            # nobody to ask the CES question: back to the bot and closed quietly, so the
            # customer's later touchpoints are not held behind a conversation that never ends
            self.store.conversations.set_owner(conversation.id, Owner.BOT.value, now)
            self.runner.feed(conversation.id, Timer(), now)
        return None

    # ---- SLA ---------------------------------------------------------------------------

    def sla_tick(self, now: datetime) -> int:
        """At breach: one reminder for an unclaimed case, one nudge for an unanswered claimed one;
        before it, the desk's own notices (75 % warnings, snoozes over, the customer's state)."""
        with self.store.transaction():
            done = self.desk.tick(now)
        for case in self.store.cases.overdue(now):
            with self.store.transaction():
                minutes = self.settings.escalation.sla_minutes_for(case.reason)
                if case.status == CaseStatus.OPEN:
                    group = self.settings.escalation.mention_group or "!channel"
                    self._thread(case, f"SLA breached: this case has waited {minutes} minutes without an owner.",
                                 now, mentions=[group])
                    self.store.cases.update(case.id, sla_reminded=1)
                else:
                    self._thread(case, f"SLA breached: the customer hasn't had a reply within {minutes} minutes.",
                                 now, mentions=[case.agent])
                    self.store.cases.update(case.id, nudged=1)
                self.store.desk.record(case.id, None, "sla_breach", now)
                self._card_update(case, now)
            done += 1
        return done

    def next_at(self) -> Optional[datetime]:
        """When the desk next has something to say by itself (a warning, a breach, a snooze over)."""
        times = [t for t in (self.store.cases.next_sla_at(), self.store.desk.next_at()) if t]
        return min(times) if times else None

    # ---- cards -------------------------------------------------------------------------

    def card(self, case_id: int, now: datetime) -> dict:
        """The case as the desk shows it (customer, order, scores, words, last turns, SLA)."""
        case = self.store.cases.require(case_id)
        conversation = self.store.conversations.get(case.conversation_id)
        customer = self.store.customers.get(case.customer_id)
        identity = self.store.customers.identity(conversation.identity_id)
        items = self.store.orders.items(case.order_id) if case.order_id else []
        item = next((i for i in items if conversation.sku and i.sku == conversation.sku), items[0] if items else None)
        slots = conversation.slots
        turns = [{"from": m.sender, "text": m.text}
                 for m in self.store.conversations.last_messages(conversation.id, 6)]
        sla_due = parse_iso(case.sla_due_at)
        return {
            "id": case.id, "status": case.status.value, "owner": case.agent,
            "customer": customer.name or customer.ref, "channel": identity.channel,
            # agents answer in it; their replies go out as written
            "language": language_label(customer_language(self.settings, customer, identity.language_code)),
            "order": case.order_id, "product": item.product if item else None, "sku": item.sku if item else None,
            "scores": {m: slots[m] for m in ("csat", "nps", "ces") if m in slots},
            "reason": case.reason, "problem_type": case.problem_type,
            "request": case.request,
            "customer_words": case.text, "last_turns": turns,
            "photos": case.photos,
            "sla_due": sla_due, "sla_state": _sla_state(case, sla_due, now),
            "claimed_at": parse_iso(case.claimed_at), "resolved_at": parse_iso(case.resolved_at),
            "repeat": repeat_line(self.store, case),
            "snoozed": ("until the customer writes" if case.snooze_until_customer else
                        f"until {case.snoozed_until[:16].replace('T', ' ')} UTC" if case.snoozed_until else None),
            "customer_state": ("opted out (STOP)" if identity.opted_out else
                               "unreachable" if not identity.reachable else None),
        }

    def _find(self, action: AgentAction) -> Optional[CaseRow]:
        try:
            case_id = int(action.case_ref)
        except ValueError:
            return self.store.cases.by_card(action.case_ref)
        return self.store.cases.get(case_id) if 0 < case_id < 2 ** 63 else None

    def _card_update(self, case: CaseRow, now: datetime) -> None:
        queue_card_update(self.store, self.channel, case.id, case.conversation_id, now)

    def _thread(self, case: CaseRow, text: str, now: datetime, customer_text: bool = False,
                mentions: Optional[list] = None) -> None:
        queue_thread(self.store, self.channel, case.id, case.conversation_id, text, now, mentions=mentions,
                     customer_text=customer_text)


class DeskPosts:
    """The dispatcher's outlet for the support desk's outbox rows (`SUPPORT`): it knows the
    kinds of desk post and draws case cards; the dispatcher paces, retries and records."""

    def __init__(self, store: Store, cases: CaseHandler, desk: Optional[SupportDesk], clock: Clock) -> None:
        self.store = store
        self.cases = cases
        self.desk = desk
        self.clock = clock

    async def deliver(self, row: OutboxRow) -> SendResult:
        """One desk post; a card is drawn from the store now, so it is never stale."""
        if self.desk is None:
            return SendResult(SendStatus.FAILED, error="no support desk configured")
        payload = row.payload
        case = self.store.cases.get(payload["case_id"]) if "case_id" in payload else None
        channel = row.address
        if not channel:
            return SendResult(SendStatus.FAILED, error="a support post with no channel")
        if row.kind == OutboxKind.CASE_CARD:
            return await self.desk.post_case(channel, self.cases.card(payload["case_id"], self.clock.now()))
        if row.kind == OutboxKind.NOTICE:
            return await self.desk.post_notice(channel, row.text)
        if row.kind == OutboxKind.DELETE_POST:
            return await self.desk.delete_post(channel, payload["ts"])
        if case is None:
            return SendResult(SendStatus.FAILED, error="case not found")
        if not case.card_ts:
            return SendResult(SendStatus.RETRY, retry_after=1.0, error="case card not posted yet")
        if row.kind == OutboxKind.CASE_UPDATE:
            return await self.desk.update_case(case.card_channel or channel, case.card_ts,
                                               self.cases.card(case.id, self.clock.now()))
        if row.kind == OutboxKind.THREAD:
            return await self.desk.post_in_thread(case.card_channel or channel, case.card_ts, row.text,
                                                  mentions=tuple(payload.get("mentions") or ()))
        if row.kind == OutboxKind.EPHEMERAL:
            return await self.desk.post_ephemeral(channel, payload["user"], row.text)
        return SendResult(SendStatus.FAILED, error=f"unknown support post kind {row.kind.value!r}")

    def delivered(self, row: OutboxRow, result: SendResult) -> None:
        """A card's platform id is its thread: keep it on the case."""
        if row.kind == OutboxKind.CASE_CARD:
            self.store.cases.update(row.payload["case_id"], card_ts=result.platform_message_id,
                                    card_channel=row.address)


def _sla_state(case: CaseRow, due: Optional[datetime], now: datetime) -> str:
    if case.status == CaseStatus.RESOLVED:
        return "resolved"
    if case.status == CaseStatus.CLAIMED and case.first_reply_at:
        return "answered"
    if due and now >= due:
        return "overdue"
    return "within SLA"
