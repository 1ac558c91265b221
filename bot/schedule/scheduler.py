"""The scheduler: due touchpoints and conversation wake-ups -> the engine, through the governor.

It never sends: it starts or advances conversations, whose messages land in the outbox, and
puts the shop's "it has been fixed" notices (`aftercare tell-fixed`) in the outbox when the
governor lets them go.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Optional

from bot.conversation.cases import CaseHandler
from bot.config.settings import DEFAULT_PRIORITY, Anchor, ConfigError, MessageClass, Once, Settings, TouchpointKind
from bot.engine.machine import Begin, Owner, Timer, WakeKind
from bot.conversation.effects import EffectNotApplied
from bot.conversation.runner import ConversationRunner
from bot.base.clock import parse_iso
from bot.schedule.governor import (OPEN_CASE, RECENT_TROUBLE, ContactFacts, Decision, cap_free_at, decide, explain,
                                   local_time)
from bot.schedule.expiry import anchor_event, too_old
from bot.schedule.offers import offer_skip
from bot.schedule.touchpoints import kinds_without_flow
from bot.store.rows import ConversationRow, FixNoticeRow, StoredOrder, TouchpointRow
from bot.store.store import Identity, Store

log = logging.getLogger(__name__)
WEEK = timedelta(days=7)
RETRY_UNLINKED = timedelta(days=1)
RETRY_BUSY = timedelta(hours=1)
DUE_PAGE = 1000                  # rows of each list `aftercare due` prints (the rest counted: "N more")


START, HOLD, DROP = "start", "hold", "drop"


@dataclass(frozen=True)
class Verdict:
    """What the scheduler does with a touchpoint or notice at a moment, and why, in one sentence.

    The one place the decision is made: `tick` applies it, `aftercare due` prints `why`. `code`
    is what the store keeps: the hold reason (quiet_hours, weekly_cap, ...) or the final status
    of a dropped one (suppressed:<reason>, expired, dropped:beaten, skipped:once_per_customer,
    cancelled).
    """

    act: str
    why: str
    code: str = ""
    until: Optional[datetime] = None
    decision: Optional[Decision] = None   # the governor's, when it was the one that held it


@dataclass(frozen=True)
class Rival:
    """A contact competing for the same weekly-cap slot: what it is, its priority, when it is due."""

    label: str
    priority: int
    due: datetime


@dataclass(frozen=True)
class DueItem:
    """One touchpoint (or "it has been fixed" notice) as `aftercare due` shows it."""

    ref: str                 # the touchpoint's id, or "fix#<id>" for a notice
    order_id: str
    kind: str
    due_at: str
    status: str
    verdict: str


@dataclass(frozen=True)
class Hold:
    """Something due that the scheduler held back at a tick, and why: what a client (the
    sandbox's narrator) tells, straight from the decision that was made."""

    kind: str                         # the touchpoint kind, or the wake kind (remind / resume)
    order_id: Optional[str]
    key: tuple                        # one hold of one thing: ("touchpoint", id) or ("wake", id, kind, wake_at)
    due_at: datetime                  # when it was due
    until: datetime                   # when it is tried again
    reason: str                       # the governor's reason, or why else it waits
    decision: Optional[Decision] = None   # the governor's, when it was the one that held it
    dropped: bool = False             # a reminder held past close_after: the conversation closes instead
    gone: bool = False                # not held but dropped for good (a tip that expired or was beaten):
                                      # `reason` is the scheduler's sentence, as `aftercare due` shows it


@dataclass(frozen=True)
class Tick:
    """What one tick did: how many things happened, and what was held back."""

    done: int
    holds: tuple[Hold, ...] = ()


class Scheduler:
    def __init__(self, store: Store, runner: ConversationRunner, cases: CaseHandler, settings: Settings) -> None:
        self.store = store
        self.runner = runner
        self.cases = cases
        self.settings = settings
        flows = runner.engine.flows.flows
        for name, flow in kinds_without_flow(settings.schedule, flows):
            raise ConfigError(settings.config_path, None, f"schedule.touchpoints.{name}: no flow {flow!r} in "
                              f"{settings.dialogs_dir}/ (known: {', '.join(flows)})")

    def tick(self, now: datetime) -> Tick:
        """Do everything due at `now`; says how many things happened and what was held back."""
        done = 0
        holds: list[Hold] = []
        for touchpoint in self.store.orders.due_touchpoints(now):
            done += self._touchpoint(touchpoint, now, holds)
        for conversation in self.store.conversations.due_wakeups(now):
            done += self._wake(conversation, now, holds)
        for notice in self.store.fix_notices.due(now):
            done += self._fix_notice(notice, now)
        done += self.cases.sla_tick(now)
        return Tick(done, tuple(holds))

    def next_at(self) -> Optional[datetime]:
        """When the scheduler next has something to do."""
        times = [t for t in (self.store.orders.next_touchpoint_at(), self.store.conversations.next_wakeup_at(),
                             self.cases.next_at(), self.store.fix_notices.next_at()) if t]
        return min(times) if times else None

    # ---- touchpoints -------------------------------------------------------------------

    def _touchpoint(self, touchpoint: TouchpointRow, now: datetime, holds: list[Hold]) -> int:
        verdict = self.judge(touchpoint, now)
        orders, touchpoint_id = self.store.orders, touchpoint.id
        with self.store.transaction():
            if verdict.act == HOLD and verdict.until is not None:
                orders.hold_touchpoint(touchpoint_id, verdict.until, verdict.code)
                holds.append(_touchpoint_hold(touchpoint, verdict.until, verdict.code, verdict.decision))
                return 0
            if verdict.act == DROP:
                orders.finish_touchpoint(touchpoint_id, verdict.code, now, why=verdict.why)
                if verdict.code.startswith("dropped:") or verdict.code == "expired":
                    holds.append(replace(_touchpoint_hold(touchpoint, now, verdict.why, None), gone=True))
                return 0
            order = self.store.orders.get(touchpoint.order_id)
            identity = self._identity(order) if order else None
            assert identity is not None                  # judge() holds a touchpoint without one
            # a service message (delay notice) takes no weekly-cap slot, like a transactional one
            proactive = uses_cap(self.message_class(touchpoint.kind))
            try:
                conversation_id = self.runner.start(identity, touchpoint.order_id, touchpoint.sku,
                                                    Begin(touchpoint.flow, proactive=proactive,
                                                          slots={"touchpoint": touchpoint.kind}), now)
            except EffectNotApplied as exc:          # nothing of it was written: held, tried again later
                orders.hold_touchpoint(touchpoint_id, now + RETRY_BUSY, "effect not applied")
                holds.append(_touchpoint_hold(touchpoint, now + RETRY_BUSY, f"waits: {exc}", None))
                return 0
            orders.finish_touchpoint(touchpoint_id, "started", now, conversation_id)
        return 1

    def judge(self, touchpoint: TouchpointRow, now: datetime) -> Verdict:
        """Start, hold (until when) or drop this touchpoint at `now`, with the reason in words."""
        order = self.store.orders.get(touchpoint.order_id)
        if order is None or order.status in ("cancelled", "returned"):
            return Verdict(DROP, "dropped: the order was cancelled or returned", "cancelled")
        expires = parse_iso(touchpoint.expires_at)
        decision, identity = self.decision_for(touchpoint, order, now)
        kind = self.settings.schedule.touchpoints.get(touchpoint.kind)
        if expires is not None and now >= expires:
            return Verdict(DROP, self._too_old(touchpoint, order, kind, expires, now, decision.zone), "expired")
        if kind is not None and kind.once is Once.CUSTOMER \
                and self.store.orders.started_for_customer(order.customer_id, touchpoint.kind):
            return Verdict(DROP, "dropped: it already went to this customer (once per customer)",
                           "skipped:once_per_customer")
        skip = offer_skip(self.store, self.settings, touchpoint, order)
        if skip is not None:
            return Verdict(DROP, skip.why, skip.status)
        if self._waits_for_delivery(touchpoint, order):
            return _hold(now + RETRY_UNLINKED, "not delivered yet",
                         "waits: not delivered yet (a delay notice went out; timed from the real delivery)",
                         expires, decision.zone)
        verdict = self._contact_verdict(identity, decision, now, expires)
        if verdict is not None:
            return verdict
        rival = self._rival(touchpoint, order.customer_id, now)
        if rival is not None:
            return self._yield(rival, order.customer_id, now, expires, decision.zone)
        assert identity is not None
        if self.store.conversations.current_for_identity(identity.id):
            return _hold(now + RETRY_BUSY, "another conversation is open",
                         "waits: another conversation with the customer is open", expires, decision.zone)
        return Verdict(START, "sends now")

    @staticmethod
    def _too_old(touchpoint: TouchpointRow, order: StoredOrder, kind: Optional[TouchpointKind], expires: datetime,
                 now: datetime, zone: Optional[str]) -> str:
        """Why an expired touchpoint is dropped: what it was timed from, how long ago (bot/schedule/expiry.py)."""
        if kind is None:                 # a kind no longer in config.yml
            return f"dropped: it expired {local_time(expires, zone)} before it could go out (never sent late)"
        event, at = anchor_event(kind.anchor, *(parse_iso(getattr(order, name)) for name in
                                                ("purchased_at", "shipped_at", "delivered_at", "expected_at")))
        return too_old(touchpoint.kind, kind.expires, event, at, now)

    def _identity(self, order: StoredOrder) -> Optional[Identity]:
        return next((i for i in self.store.customers.identities_of(order.customer_id)
                     if i.channel == order.channel), None)

    def decision_for(self, touchpoint: TouchpointRow, order: StoredOrder, now: datetime) -> tuple[Decision, Optional[Identity]]:
        """The governor's answer for this touchpoint's customer now, and the identity it goes to."""
        identity = self._identity(order)
        if identity is None:
            return Decision(False, None, "no_consent"), None
        kind = self.settings.schedule.touchpoints.get(touchpoint.kind)
        if kind is not None and kind.no_trouble_within is not None:
            # milestones, tips: never with an open case, nor after a low score or a case that recent
            facts = self.contact_facts(identity, order.customer_id, now)
            trouble = self.store.referrals.trouble_since(order.customer_id, now - kind.no_trouble_within)
            if facts.has_open_case or trouble:
                zone = decide(MessageClass.SERVICE, facts, now, self.settings.schedule).zone
                return Decision(False, None, OPEN_CASE if facts.has_open_case else RECENT_TROUBLE, zone), identity
        else:
            earlier = self.store.conversations.order_facts(order.customer_id, order.order_id)
            facts = self.contact_facts(identity, order.customer_id, now,
                                       low_score=bool(earlier.get("low_score") or earlier.get("had_case")))
        return decide(self.message_class(touchpoint.kind), facts, now, self.settings.schedule), identity

    def _waits_for_delivery(self, touchpoint: TouchpointRow, order: StoredOrder) -> bool:
        """After a delay notice went out, what is timed from the delivery waits for the real one
        (the estimate it was timed from has proved wrong); delivery re-times it."""
        kinds = self.settings.schedule.touchpoints
        kind = kinds.get(touchpoint.kind)
        if order.delivered_at or kind is None or kind.anchor not in (Anchor.DELIVERY, Anchor.RUN_OUT):
            return False
        return any(t.started_at and t.kind in kinds and kinds[t.kind].anchor is Anchor.LATE
                   for t in self.store.orders.touchpoints(order.order_id))

    def message_class(self, kind: str) -> MessageClass:
        """The class a touchpoint kind is declared with; a kind no longer in config.yml counts as proactive."""
        declared = self.settings.schedule.touchpoints.get(kind)
        return declared.message_class if declared else MessageClass.PROACTIVE

    def _contact_verdict(self, identity: Optional[Identity], decision: Decision, now: datetime,
                         expires: Optional[datetime] = None) -> Optional[Verdict]:
        """What every proactive start checks first: a linked identity and the governor's yes.
        None when both let it go; else hold (until when) or drop, and why."""
        if identity is None or not identity.address:
            channel = identity.channel if identity else "its channel"
            return _hold(now + RETRY_UNLINKED, "not linked yet", f"waits: the customer has not linked {channel} yet",
                         expires, decision.zone)
        if decision.send:
            return None
        if decision.wait_until is None:                 # never: suppressed for good
            return Verdict(DROP, f"dropped: {explain(decision).removeprefix('never: ')}", f"suppressed:{decision.reason}")
        return _hold(decision.wait_until, decision.reason, explain(decision), expires, decision.zone, decision)

    def _rival(self, touchpoint: TouchpointRow, customer_id: int, now: datetime) -> Optional[Rival]:
        """A higher-priority contact with the same customer (another touchpoint, or a check-in
        resuming after "not used yet") that sending this one now would push past its time, since
        both take a weekly-cap slot; else None."""
        schedule = self.settings.schedule
        mine = schedule.touchpoints.get(touchpoint.kind)
        if mine is None or not uses_cap(mine.message_class) or schedule.weekly_cap == 0:
            return None
        candidates: list[Rival] = []
        for other in self.store.orders.waiting_for_customer(customer_id, now + WEEK):
            kind = schedule.touchpoints.get(other.kind)
            due = parse_iso(other.due_at)
            if other.id != touchpoint.id and kind is not None and due is not None and uses_cap(kind.message_class):
                candidates.append(Rival(other.kind, kind.priority, max(due, now)))
        for conversation in self.store.conversations.resumes_for_customer(customer_id, now + WEEK):
            priorities = [k.priority for name, k in schedule.touchpoints.items()
                          if schedule.flow_of(name) == conversation.flow]
            due = parse_iso(conversation.wake_at)
            if due is not None:
                candidates.append(Rival(f"the resumed {conversation.flow}", max(priorities, default=DEFAULT_PRIORITY),
                                        max(due, now)))
        sends = self.store.customers.contacts_since(customer_id, now - WEEK)
        for rival in sorted(candidates, key=lambda r: r.due):
            if rival.priority > mine.priority and \
                    cap_free_at([*sends, now], rival.due, schedule.weekly_cap) > cap_free_at(sends, rival.due, schedule.weekly_cap):
                return rival
        return None

    def _yield(self, rival: Rival, customer_id: int, now: datetime, expires: Optional[datetime],
               zone: Optional[str]) -> Verdict:
        """The higher-priority contact goes first: this one waits for it, or is dropped when the
        weekly cap would hold it past its expiry once the other one has gone."""
        sends = self.store.customers.contacts_since(customer_id, now - WEEK)
        free = cap_free_at([*sends, rival.due], rival.due, self.settings.schedule.weekly_cap)
        first = f"{rival.label} (priority {rival.priority}) due {local_time(rival.due, zone)} goes first"
        if expires is not None and free >= expires:
            return Verdict(DROP, f"dropped: beaten by {first}; the weekly cap frees a slot {local_time(free, zone)}, "
                                 f"after it expires {local_time(expires, zone)}", "dropped:beaten")
        return Verdict(HOLD, f"waits: {first}; tried again then", f"yields to {rival.label}",
                       max(rival.due, now + timedelta(minutes=1)))

    # ---- "it has been fixed" notices ----------------------------------------------------

    def _fix_notice(self, notice: FixNoticeRow, now: datetime) -> int:
        """A proactive message outside any flow: the same governor rules as a touchpoint (held
        by the weekly cap and quiet hours, never to an opted-out or forgotten customer)."""
        verdict = self.judge_notice(notice, now)
        with self.store.transaction():
            if verdict.act == HOLD and verdict.until is not None:
                self.store.fix_notices.hold(notice.id, verdict.until, verdict.code)
                return 0
            if verdict.act == DROP:
                self.store.fix_notices.finish(notice.id, verdict.code, now)
                return 0
            identity = self.store.customers.identity(notice.identity_id)
            outbox_id = self.store.outbox.add(identity.channel, identity.address, identity.id, None,
                                              notice.text, now)
            self.store.conversations.add_message(None, identity.id, "out", "bot", notice.text, now,
                                                 outbox_id=outbox_id)
            self.store.customers.record_contact(notice.customer_id, "tell_fixed", now)
            self.store.fix_notices.finish(notice.id, "sent", now, outbox_id)
        return 1

    def judge_notice(self, notice: FixNoticeRow, now: datetime) -> Verdict:
        """Send, hold or drop an "it has been fixed" notice at `now` (the rules of a proactive message)."""
        customer_id = notice.customer_id
        if self.store.customers.get(customer_id).forgotten_at:
            return Verdict(DROP, "dropped: the customer was forgotten", "cancelled")
        identity = self.store.customers.identity(notice.identity_id)
        decision = decide(MessageClass.PROACTIVE, self.contact_facts(identity, customer_id, now), now,
                          self.settings.schedule)
        verdict = self._contact_verdict(identity, decision, now)
        if verdict is not None:
            return verdict
        if self.store.conversations.current_for_identity(identity.id):
            return _hold(now + RETRY_BUSY, "another conversation is open",
                         "waits: another conversation with the customer is open", None, decision.zone)
        return Verdict(START, "sends now")

    # ---- conversation wake-ups ---------------------------------------------------------

    def _wake(self, conversation: ConversationRow, now: datetime, holds: list[Hold]) -> int:
        identity = self.store.customers.identity(conversation.identity_id)
        if conversation.wake_kind == WakeKind.CLOSE or conversation.owner == Owner.HUMAN:
            return self._feed(conversation, now)
        slots = conversation.slots
        facts = self.contact_facts(identity, conversation.customer_id, now,
                            low_score=bool(slots.get("low_score") or slots.get("had_case")))
        # A reminder belongs to the contact it reminds about (shared/CONVERSATION.md): no new slot
        # of the weekly cap, but it waits for quiet hours and is dropped if they opted out or
        # became unreachable meanwhile. A resumed check-in is a new contact.
        reminder = conversation.wake_kind == WakeKind.REMIND
        decision = decide(MessageClass.SERVICE if reminder else MessageClass.PROACTIVE, facts, now,
                          self.settings.schedule)
        if decision.send:
            return self._feed(conversation, now)
        if decision.wait_until is not None:
            holds.append(Hold(
                conversation.wake_kind.value if conversation.wake_kind else "", conversation.order_id,
                ("wake", conversation.id, conversation.wake_kind, conversation.wake_at),
                parse_iso(conversation.wake_at) or now, decision.wait_until, decision.reason, decision,
                dropped=reminder and decision.wait_until - now > self.settings.schedule.close_after))
        with self.store.transaction():
            if decision.wait_until is None:             # never: suppressed for good
                self._close_quietly(conversation, now)
            elif (conversation.wake_kind == WakeKind.REMIND
                  and decision.wait_until - now > self.settings.schedule.close_after):
                # The reminder would come too late (weekly cap): at most one reminder means none here.
                self.store.conversations.postpone_wakeup(conversation.id, now + self.settings.schedule.close_after,
                                                         kind=WakeKind.CLOSE.value)
            else:
                self.store.conversations.postpone_wakeup(conversation.id, decision.wait_until)
        return 0

    def _close_quietly(self, conversation: ConversationRow, now: datetime) -> None:
        self.store.conversations.postpone_wakeup(conversation.id, now, kind=WakeKind.CLOSE.value)
        self._feed(conversation, now)

    def _feed(self, conversation: ConversationRow, now: datetime) -> int:
        """Run a due wake-up (1); one whose step emits an effect nothing applies wrote nothing
        (the runner logged it) and is put off for an hour (0), so the rest of the tick goes on."""
        try:
            self.runner.feed(conversation.id, Timer(), now)
        except EffectNotApplied:
            with self.store.transaction():
                self.store.conversations.postpone_wakeup(conversation.id, now + RETRY_BUSY)
            return 0
        return 1

    def contact_facts(self, identity: Identity, customer_id: int, now: datetime, low_score: bool = False) -> ContactFacts:
        """What the governor weighs before contacting `identity` now (consent, caps, quiet hours)."""
        customer = self.store.customers.get(customer_id)
        return ContactFacts(
            consent=identity.consent, opted_out=identity.opted_out, reachable=identity.reachable,
            timezone=customer.timezone,
            proactive_sent=self.store.customers.contacts_since(customer_id, now - WEEK),
            has_open_case=self.store.cases.active_for_customer(customer_id) is not None,
            had_low_score=low_score,
        )

    # ---- reporting ---------------------------------------------------------------------

    def due_more(self, now: datetime, horizon: timedelta = timedelta(days=1),
                 dropped_since: Optional[timedelta] = timedelta(days=7), page: int = DUE_PAGE) -> int:
        """How many rows `due_report` with the same arguments left off its page (each of its three
        lists holds at most `page`)."""
        more = max(0, self.store.orders.count_due(now + horizon) - page)
        more += max(0, self.store.fix_notices.count_due(now + horizon) - page)
        if dropped_since is not None:
            more += max(0, self.store.orders.count_dropped_since(now - dropped_since) - page)
        return more

    def due_report(self, now: datetime, horizon: timedelta = timedelta(days=1),
                   dropped_since: Optional[timedelta] = timedelta(days=7), page: int = DUE_PAGE) -> list[DueItem]:
        """What is due (or held) up to `now + horizon` and why each waits, judged exactly as `tick`
        will judge it when it falls due; then what was dropped in the last `dropped_since`, and why.
        At most `page` of each (`due_more` counts the rest)."""
        items = []
        for touchpoint in self.store.orders.due_touchpoints(now + horizon, limit=page):
            due = parse_iso(touchpoint.due_at) or now
            if touchpoint.status == "held" or due <= now:      # why it waits now (its due_at: the next try)
                why = self.judge(touchpoint, now).why
            else:                                                 # what will happen when it falls due
                later = self.judge(touchpoint, due)
                why = later.why if later.act == DROP else f"due later; {later.why.replace('sends now', 'sends then')}"
            items.append(DueItem(str(touchpoint.id), touchpoint.order_id, touchpoint.kind,
                                 touchpoint.due_at, touchpoint.status, why))
        for notice in self.store.fix_notices.due(now + horizon, limit=page):
            due = parse_iso(notice.due_at) or now
            if notice.status == "held" or due <= now:
                why = self.judge_notice(notice, now).why
            else:
                why = f"due later; {self.judge_notice(notice, due).why.replace('sends now', 'sends then')}"
            items.append(DueItem(f"fix#{notice.id}", notice.sku, "tell_fixed", notice.due_at,
                                 notice.status, why))
        if dropped_since is not None:
            for touchpoint in self.store.orders.dropped_since(now - dropped_since, limit=page):
                items.append(DueItem(str(touchpoint.id), touchpoint.order_id, touchpoint.kind,
                                     touchpoint.due_at, touchpoint.status,
                                     touchpoint.held_reason or f"dropped: {touchpoint.status}"))
        return items


def uses_cap(message_class: MessageClass) -> bool:
    """Takes a slot of the weekly cap (proactive messages and offers)."""
    return message_class in (MessageClass.PROACTIVE, MessageClass.OFFER)


def _hold(until: datetime, code: str, why: str, expires: Optional[datetime], zone: Optional[str],
          decision: Optional[Decision] = None) -> Verdict:
    """Wait until `until`, unless the touchpoint expires by then: then it is dropped at once."""
    if expires is not None and until >= expires:
        return Verdict(DROP, f"dropped: {why.removeprefix('waits: ')}, past its expiry "
                             f"{local_time(expires, zone)} (never sent late)", "expired")
    return Verdict(HOLD, why, code, until, decision)


def _touchpoint_hold(touchpoint: TouchpointRow, until: datetime, reason: str, decision: Optional[Decision]) -> Hold:
    return Hold(touchpoint.kind, touchpoint.order_id, ("touchpoint", touchpoint.id),
                parse_iso(touchpoint.due_at) or until, until, reason, decision)
