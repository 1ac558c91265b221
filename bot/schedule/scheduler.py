"""The scheduler: due touchpoints and conversation wake-ups -> the engine, through the governor.

It never sends: it starts or advances conversations, whose messages land in the outbox, and
puts the shop's "it has been fixed" notices (`aftercare tell-fixed`) in the outbox when the
governor lets them go.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from bot.cases import CaseHandler
from bot.clock import iso, parse_iso
from bot.config import Anchor, ConfigError, MessageClass, Once, Settings
from bot.engine.machine import Begin, Owner, Timer, WakeKind
from bot.runner import ConversationRunner
from bot.schedule.governor import OPEN_CASE, RECENT_TROUBLE, ContactFacts, Decision, decide, explain
from bot.schedule.offers import offer_skip
from bot.schedule.touchpoints import kinds_without_flow
from bot.store.store import Identity, Store

log = logging.getLogger(__name__)
WEEK = timedelta(days=7)
RETRY_UNLINKED = timedelta(days=1)
RETRY_BUSY = timedelta(hours=1)


@dataclass(frozen=True)
class DueItem:
    """One touchpoint as `aftercare due` shows it."""

    touchpoint_id: int
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
                             self.store.cases.next_sla_at(), self.store.fix_notices.next_at()) if t]
        return min(times) if times else None

    # ---- touchpoints -------------------------------------------------------------------

    def _touchpoint(self, touchpoint: dict, now: datetime, holds: list[Hold]) -> int:
        order = self.store.orders.get(touchpoint["order_id"])
        if order is None or order["status"] in ("cancelled", "returned"):
            self.store.orders.finish_touchpoint(touchpoint["id"], "cancelled", now)
            return 0
        dropped = self.dropped(touchpoint, order, now)
        if dropped:
            self.store.orders.finish_touchpoint(touchpoint["id"], dropped, now)
            return 0
        skip = offer_skip(self.store, self.settings, touchpoint, order)
        if skip is not None:
            log.info("touchpoint %s (%s of %s) %s", touchpoint["id"], touchpoint["kind"], order["order_id"], skip.why)
            self.store.orders.finish_touchpoint(touchpoint["id"], skip.status, now)
            return 0
        decision, identity = self.decision_for(touchpoint, order, now)
        with self.store.transaction():
            if self._waits_for_delivery(touchpoint, order):
                self.store.orders.hold_touchpoint(touchpoint["id"], now + RETRY_UNLINKED, "not delivered yet")
                holds.append(_touchpoint_hold(touchpoint, now + RETRY_UNLINKED, "not delivered yet", None))
                return 0
            orders, touchpoint_id = self.store.orders, touchpoint["id"]

            def hold(until: datetime, why: str) -> None:
                orders.hold_touchpoint(touchpoint_id, until, why)
                holds.append(_touchpoint_hold(touchpoint, until, why, decision))

            if not self._cleared(identity, decision, now, hold=hold,
                                 drop=lambda status: orders.finish_touchpoint(touchpoint_id, status, now)):
                return 0
            assert identity is not None                 # _cleared holds a touchpoint with nobody to reach
            # a service message (delay notice) takes no weekly-cap slot, like a transactional one
            proactive = self.message_class(touchpoint["kind"]) not in (MessageClass.TRANSACTIONAL,
                                                                       MessageClass.SERVICE)
            conversation_id = self.runner.start(identity, order["order_id"], touchpoint["sku"],
                                                Begin(touchpoint["flow"], proactive=proactive,
                                                      slots={"touchpoint": touchpoint["kind"]}), now)
            self.store.orders.finish_touchpoint(touchpoint["id"], "started", now, conversation_id)
        return 1

    def decision_for(self, touchpoint: dict, order: dict, now: datetime) -> tuple[Decision, Optional[Identity]]:
        identity = next((i for i in self.store.customers.identities_of(order["customer_id"])
                         if i.channel == order["channel"]), None)
        if identity is None:
            return Decision(False, None, "no_consent"), None
        kind = self.settings.schedule.touchpoints.get(touchpoint["kind"])
        if kind is not None and kind.no_trouble_within is not None:
            # a milestone: never with an open case, nor after a low score or a case that recent
            facts = self.contact_facts(identity, order["customer_id"], now)
            trouble = self.store.referrals.trouble_since(order["customer_id"], now - kind.no_trouble_within)
            if facts.has_open_case or trouble:
                return Decision(False, None, OPEN_CASE if facts.has_open_case else RECENT_TROUBLE), identity
        else:
            earlier = self.store.conversations.order_facts(order["customer_id"], order["order_id"])
            facts = self.contact_facts(identity, order["customer_id"], now,
                                       low_score=bool(earlier.get("low_score") or earlier.get("had_case")))
        return decide(self.message_class(touchpoint["kind"]), facts, now, self.settings.schedule), identity

    def dropped(self, touchpoint: dict, order: dict, now: datetime) -> Optional[str]:
        """Why a due touchpoint goes out never (its final status), or None: it expired (could not
        go out in time), or it is a once-per-customer kind that already went to this customer."""
        if touchpoint.get("expires_at") and touchpoint["expires_at"] < iso(now):
            return "expired"
        kind = self.settings.schedule.touchpoints.get(touchpoint["kind"])
        if kind is not None and kind.once is Once.CUSTOMER \
                and self.store.orders.started_for_customer(order["customer_id"], touchpoint["kind"]):
            return "skipped:once_per_customer"
        return None

    def _waits_for_delivery(self, touchpoint: dict, order: dict) -> bool:
        """After a delay notice went out, what is timed from the delivery waits for the real one
        (the estimate it was timed from has proved wrong); delivery re-times it."""
        kinds = self.settings.schedule.touchpoints
        kind = kinds.get(touchpoint["kind"])
        if order["delivered_at"] or kind is None or kind.anchor not in (Anchor.DELIVERY, Anchor.RUN_OUT):
            return False
        return any(t["started_at"] and t["kind"] in kinds and kinds[t["kind"]].anchor is Anchor.LATE
                   for t in self.store.orders.touchpoints(order["order_id"]))

    def message_class(self, kind: str) -> MessageClass:
        """The class a touchpoint kind is declared with; a kind no longer in config.yml counts as proactive."""
        declared = self.settings.schedule.touchpoints.get(kind)
        return declared.message_class if declared else MessageClass.PROACTIVE

    def _cleared(self, identity: Optional[Identity], decision: Decision, now: datetime,
                 hold: Callable[[datetime, str], None], drop: Callable[[str], None]) -> bool:
        """What every proactive start checks: a linked identity, the governor's yes, no other
        conversation open. Otherwise it holds the item (`hold(until, reason)`) or, when the
        governor says never, drops it (`drop("suppressed:<reason>")`)."""
        if identity is None or not identity.address:
            hold(now + RETRY_UNLINKED, "not linked yet")
            return False
        if not decision.send:
            if decision.wait_until is None:             # never: suppressed for good
                drop(f"suppressed:{decision.reason}")
            else:
                hold(decision.wait_until, decision.reason)
            return False
        if self.store.conversations.current_for_identity(identity.id):
            hold(now + RETRY_BUSY, "another conversation is open")
            return False
        return True

    # ---- "it has been fixed" notices ----------------------------------------------------

    def _fix_notice(self, notice: dict, now: datetime) -> int:
        """A proactive message outside any flow: the same governor rules as a touchpoint (held
        by the weekly cap and quiet hours, never to an opted-out or forgotten customer)."""
        customer_id = notice["customer_id"]
        identity = self.store.customers.identity(notice["identity_id"])
        with self.store.transaction():
            if self.store.customers.get(customer_id).get("forgotten_at"):
                self.store.fix_notices.finish(notice["id"], "cancelled", now)
                return 0
            decision = decide(MessageClass.PROACTIVE, self.contact_facts(identity, customer_id, now), now,
                              self.settings.schedule)
            if not self._cleared(identity, decision, now,
                                 hold=lambda until, why: self.store.fix_notices.hold(notice["id"], until, why),
                                 drop=lambda status: self.store.fix_notices.finish(notice["id"], status, now)):
                return 0
            outbox_id = self.store.outbox.add(identity.channel, identity.address, identity.id, None,
                                              notice["text"], now)
            self.store.conversations.add_message(None, identity.id, "out", "bot", notice["text"], now,
                                                 outbox_id=outbox_id)
            self.store.customers.record_contact(customer_id, "tell_fixed", now)
            self.store.fix_notices.finish(notice["id"], "sent", now, outbox_id)
        return 1

    # ---- conversation wake-ups ---------------------------------------------------------

    def _wake(self, conversation: dict, now: datetime, holds: list[Hold]) -> int:
        identity = self.store.customers.identity(conversation["identity_id"])
        if conversation["wake_kind"] == WakeKind.CLOSE or conversation["owner"] == Owner.HUMAN:
            self.runner.feed(conversation["id"], Timer(), now)
            return 1
        slots = conversation.get("slots") or {}
        facts = self.contact_facts(identity, conversation["customer_id"], now,
                            low_score=bool(slots.get("low_score") or slots.get("had_case")))
        # A reminder belongs to the contact it reminds about (shared/CONVERSATION.md): no new slot
        # of the weekly cap, but it waits for quiet hours and is dropped if they opted out or
        # became unreachable meanwhile. A resumed check-in is a new contact.
        reminder = conversation["wake_kind"] == WakeKind.REMIND
        decision = decide(MessageClass.SERVICE if reminder else MessageClass.PROACTIVE, facts, now,
                          self.settings.schedule)
        if decision.send:
            self.runner.feed(conversation["id"], Timer(), now)
            return 1
        if decision.wait_until is not None:
            holds.append(Hold(
                conversation["wake_kind"], conversation["order_id"],
                ("wake", conversation["id"], conversation["wake_kind"], conversation["wake_at"]),
                parse_iso(conversation["wake_at"]) or now, decision.wait_until, decision.reason, decision,
                dropped=reminder and decision.wait_until - now > self.settings.schedule.close_after))
        with self.store.transaction():
            if decision.wait_until is None:             # never: suppressed for good
                self._close_quietly(conversation, now)
            elif (conversation["wake_kind"] == WakeKind.REMIND
                  and decision.wait_until - now > self.settings.schedule.close_after):
                # The reminder would come too late (weekly cap): at most one reminder means none here.
                self.store.conversations.postpone_wakeup(conversation["id"], now + self.settings.schedule.close_after,
                                                         kind=WakeKind.CLOSE.value)
            else:
                self.store.conversations.postpone_wakeup(conversation["id"], decision.wait_until)
        return 0

    def _close_quietly(self, conversation: dict, now: datetime) -> None:
        self.store.conversations.postpone_wakeup(conversation["id"], now, kind=WakeKind.CLOSE.value)
        self.runner.feed(conversation["id"], Timer(), now)

    def contact_facts(self, identity: Identity, customer_id: int, now: datetime, low_score: bool = False) -> ContactFacts:
        """What the governor weighs before contacting `identity` now (consent, caps, quiet hours)."""
        customer = self.store.customers.get(customer_id)
        return ContactFacts(
            consent=identity.consent, opted_out=identity.opted_out, reachable=identity.reachable,
            timezone=customer.get("timezone"),
            proactive_sent=self.store.customers.contacts_since(customer_id, now - WEEK),
            has_open_case=self.store.cases.active_for_customer(customer_id) is not None,
            had_low_score=low_score,
        )

    # ---- reporting ---------------------------------------------------------------------

    def due_report(self, now: datetime, horizon: timedelta = timedelta(days=1)) -> list[DueItem]:
        """What is due (or held) up to `now + horizon`, and why each waits."""
        items = []
        for touchpoint in self.store.orders.due_touchpoints(now + horizon, limit=1000):
            order = self.store.orders.get(touchpoint["order_id"])
            if order is None:
                continue
            decision, identity = self.decision_for(touchpoint, order, now)
            dropped = self.dropped(touchpoint, order, now)
            skip = offer_skip(self.store, self.settings, touchpoint, order)
            if dropped == "expired":
                verdict = f"dropped: could not go out before it expired at {touchpoint['expires_at'][:16]}"
            elif dropped:
                verdict = "dropped: it already went to this customer (once per customer)"
            elif skip is not None:
                verdict = skip.why
            elif identity is not None and not identity.address:
                verdict = f"waits: the customer has not linked {identity.channel} yet"
            elif self._waits_for_delivery(touchpoint, order):
                verdict = "waits: not delivered yet (a delay notice went out; timed from the real delivery)"
            elif touchpoint["due_at"] > now.isoformat():
                verdict = f"due later; {explain(decision)}"
            else:
                verdict = explain(decision)
            items.append(DueItem(touchpoint["id"], touchpoint["order_id"], touchpoint["kind"], touchpoint["due_at"],
                                 touchpoint["status"], verdict))
        return items


def _touchpoint_hold(touchpoint: dict, until: datetime, reason: str, decision: Optional[Decision]) -> Hold:
    return Hold(touchpoint["kind"], touchpoint["order_id"], ("touchpoint", touchpoint["id"]),
                parse_iso(touchpoint["due_at"]) or until, until, reason, decision)
