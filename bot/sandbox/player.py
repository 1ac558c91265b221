"""`simulate`'s engine: play a scenario against the real core on a simulated clock, whatever
the channel; the sides that act for the customer and the agent are given to it (console ones
in bot/sandbox/simulate.py, platform ones from each channel's driver in bot/sandbox/platforms/,
played by bot/sandbox/on_platform.py)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Optional, Protocol

from bot.base.clock import SimClock, iso, parse_iso
from bot.config.settings import Anchor, Settings
from bot.live.core import Core
from bot.orders.importing import import_rows, stored_rows
from bot.live.mainloop import MainLoop, earliest
from bot.orders.files import OrderRow
from bot.base.kinds import CaseStatus
from bot.sandbox.scenario import (AgentMove, Block, OrderMove, Press, Say, Scenario, ScenarioError, TellFixed, Turn,
                                  Wait)
from bot.sandbox.platforms.base import ScriptedCustomer as CustomerSide
from bot.store.rows import CaseRow
from bot.store.store import Store
from bot.ops.fixes import TellFixedError, check_request, parse_since, plan, queue

SIM_CUSTOMER_REF = "sim-customer"
SETTLE_HORIZON = timedelta(minutes=2)   # rate-limit pauses and retries the bot "has to say now"
# agent moves after which the agents wait for the customer's next turn (an answer, or a snooze)
WAITING_MOVES = ("reply", "saved_reply", "snooze")


class AgentSide(Protocol):
    """How a scripted agent acts in the support channel."""

    async def act(self, move: AgentMove, case: CaseRow) -> None: ...
    def posts(self) -> list[dict]: ...
    def told(self) -> list[str]:
        """What the agents were shown only to themselves (refusals, history), oldest first."""
        ...


def desk_settings(settings: Settings, scenario: Scenario) -> Settings:
    """The settings with the scenario's `desk:` changes (the weekly goodwill budget)."""
    if "goodwill_per_week" not in scenario.desk:
        return settings
    goodwill = settings.escalation.goodwill.copy(update={"per_week": scenario.desk["goodwill_per_week"]})
    escalation = settings.escalation.copy(update={"goodwill": goodwill})
    return settings.copy(update={"escalation": escalation})


@dataclass
class Transcript:
    entries: list[dict] = field(default_factory=list)
    seen: set = field(default_factory=set)

    def customer(self, text: str, at: datetime) -> None:
        self.entries.append({"from": "customer", "text": text, "buttons": [], "at": iso(at)})

    def collect(self, store: Store, channel: str, address: str) -> None:
        for row in store.outbox.sent_to(channel, address):
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            buttons = [label for label, _ in row.buttons]
            self.entries.append({"from": "agent" if row.sender == "agent" else "bot", "text": row.text,
                                 "buttons": buttons, "at": row.sent_at,
                                 "_buttons": row.buttons,
                                 "_platform_id": row.platform_message_id})

    def last_question(self) -> Optional[dict]:
        return next((e for e in reversed(self.entries) if e.get("_buttons")), None)

    def public(self) -> list[dict]:
        return [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.entries]


class Simulation:
    """Plays a scenario against a built Core whose clock is `clock`."""

    def __init__(self, scenario: Scenario, core: Core, clock: SimClock, customer: CustomerSide,
                 agent: AgentSide) -> None:
        self.scenario = scenario
        self.core = core
        self.clock = clock
        self.customer = customer
        self.agent = agent
        self.transcript = Transcript()
        self.agent_moves = list(scenario.agent)
        self.main = MainLoop(core, upkeep=False)      # a scripted conversation: no retention, no digest

    # ---- set-up ------------------------------------------------------------------------

    def import_order(self, settings: Settings) -> None:
        """The scenario's order, delivered N days before the simulated 'now'. The clock starts
        at its check-in; an order shipped and not delivered starts at its delay notice."""
        self.settings = settings
        order, customer, now = self.scenario.order, self.scenario.customer, self.clock.now()
        delivered = now - timedelta(days=float(order.get("delivered_days_ago", 0)))
        has_delivery = "delivered_days_ago" in order or "shipped_days_ago" not in order
        shipped = now - timedelta(days=float(order["shipped_days_ago"])) if "shipped_days_ago" in order else delivered - timedelta(days=2)
        row = OrderRow(
            line=1, order_id=str(order["order_id"]), customer_ref=SIM_CUSTOMER_REF, channel=self.customer.channel,
            product=str(order["product"]), sku=str(order["sku"]), category=str(order.get("category", "general")),
            purchased_at=shipped - timedelta(days=1), quantity=int(order.get("quantity", 1)),
            customer_name=str(customer.get("name", "Sam Customer")), address=self.customer.address,
            timezone=customer.get("timezone"), language=str(customer.get("language", "en")),
            shipped_at=shipped, delivered_at=delivered if has_delivery else None,
            status="delivered" if has_delivery else "shipped", consent=True,
            shipment_status=order.get("shipment_status"),
        )
        earlier = [replace(row, line=index + 2, order_id=str(past["order_id"]), product=str(past["product"]),
                           sku=str(past["sku"]), category=str(past.get("category", "general")),
                           purchased_at=now - timedelta(days=float(past["purchased_days_ago"])),
                           shipped_at=now - timedelta(days=float(past["purchased_days_ago"]) - 1),
                           delivered_at=now - timedelta(days=float(past["purchased_days_ago"]) - 3),
                           status="delivered", shipment_status=None)
                   for index, past in enumerate(self.scenario.history)]
        report = import_rows(self.core.store, settings, [*earlier, row], now)
        assert report.rows_ok == 1 + len(earlier)
        points = self.core.store.orders.touchpoints(row.order_id)
        if self.scenario.before:                  # the customer writes first: start right now
            for order_id in (row.order_id, *(past.order_id for past in earlier)):
                self.core.store.orders.skip_touchpoints_before(order_id, now)
            return
        late = _late_kinds(settings)
        checkin = next((t for t in points if t.kind in late and t.status == "pending"), None) or \
            next((t for t in points if t.kind == "checkin"), None)
        if checkin:
            due = parse_iso(checkin.due_at) or now
            self.core.store.orders.skip_touchpoints_before(row.order_id, due)   # e.g. the thank-you
            for past in earlier:                     # earlier orders: their own touchpoints are over
                self.core.store.orders.skip_touchpoints_before(past.order_id, max(now, due))
            self.clock.set(max(now, due))                                       # now, when overdue

    # ---- running -----------------------------------------------------------------------

    async def run(self) -> dict:
        if self.scenario.before:
            await self.settle()
            for turn in self.scenario.before:
                await self.play(turn)
            await self.play_agent()
        await self.settle(until_first_message=True)
        for turn in self.scenario.turns:
            await self.play(turn)
        await self.play_agent(all_remaining=True)
        await self.settle()
        return self.result()

    async def play(self, turn: Turn) -> None:
        """One turn, after the agent moves that come before it."""
        await self.play_agent()
        if isinstance(turn, Wait):
            await self.advance(turn.duration)
        elif isinstance(turn, Block):
            await self.customer.block()
        elif isinstance(turn, OrderMove):
            self.move_order(turn)
            await self.settle()
        elif isinstance(turn, TellFixed):
            self.tell_fixed(turn)
            await self.settle()
        elif isinstance(turn, Press):
            await self.press(turn.value)
        elif isinstance(turn, Say):
            self.transcript.customer(turn.text, self.clock.now())
            await self.customer.say(turn.text)
            await self.settle()

    def move_order(self, move: OrderMove) -> None:
        """The shop's system changes the order, through the same upsert as an import."""
        now = self.clock.now()
        if move.kind == "referred_order":
            self.import_referred_order(now)
            return
        every_change: dict[str, dict[str, Any]] = {
            "deliver": {"delivered_at": now, "status": "delivered", "shipment_status": "delivered"},
            "cancel": {"status": "cancelled"},
            "estimate": {"expected_at": now + (move.duration or timedelta(0))},
            "ship": {"shipment_status": move.status},
            "reorder": {"order_id": move.order_id, "purchased_at": now, "shipped_at": None, "delivered_at": None,
                        "expected_at": None, "status": "placed", "shipment_status": None}}
        changes = dict(every_change[move.kind])
        order_id = str(self.scenario.order["order_id"])
        if move.kind == "deliver" and move.order_id:       # another order of the scenario (reordered)
            order_id = move.order_id
            changes["shipped_at"] = now
        rows = [replace(row, **changes) for row in stored_rows(self.core.store, order_id)]
        if not rows:
            raise ScenarioError(self.scenario.path, None, f"{move.kind}: no order {order_id!r} (reorder it first)")
        import_rows(self.core.store, self.settings, rows, now)

    def import_referred_order(self, now: datetime) -> None:
        """A friend's order placed with this customer's referral code (none given yet: no code)."""
        given = self.core.store.referrals.of_customer(self._customer_id())
        count = self.core.store.orders.count()
        order = self.scenario.order
        friend = OrderRow(line=1, order_id=f"REF-{count + 1}", customer_ref=f"friend-{count + 1}", channel="console",
                          product=str(order["product"]), sku=str(order["sku"]),
                          category=str(order.get("category", "general")), purchased_at=now,
                          customer_name="Friend Customer", consent=False,
                          referral_code=given.code if given else None)
        import_rows(self.core.store, self.settings, [friend], now)

    def tell_fixed(self, move: TellFixed) -> None:
        """`aftercare tell-fixed`, confirmed: queue the notice for everyone who reported the problem."""
        store, sku = self.core.store, move.sku or str(self.scenario.order["sku"])
        try:
            check_request(store, sku, move.problem_type)
            chosen = plan(store, sku, move.problem_type, parse_since(move.since), self.settings.languages)
            # a bare `message:` is the shop's default language's text
            texts = move.messages or {self.settings.languages.default: move.message}
            queue(store, chosen, texts, self.clock.now())
        except TellFixedError as exc:
            raise ScenarioError(self.scenario.path, None, f"tell_fixed: {exc}") from None

    async def press(self, value: str) -> None:
        question = self.transcript.last_question()
        match = None
        if question:
            wanted = value.strip().lower()
            match = next((b for b in question["_buttons"] if wanted in (b[1].lower(), b[0].lower())), None)
        if match is None or question is None:
            self.transcript.customer(value, self.clock.now())
            await self.customer.say(value)
        else:
            self.transcript.customer(match[0], self.clock.now())
            await self.customer.press(match[1], question["_platform_id"])
        await self.settle()

    async def play_agent(self, all_remaining: bool = False) -> None:
        """Agent moves, in order, while a case is open, until a reply (or a snooze) has been played."""
        while self.agent_moves:
            case = self._case()
            if case is None or case.status == CaseStatus.RESOLVED:
                return
            move = self.agent_moves.pop(0)
            await self.agent.act(move, case)
            await self.settle()
            if move.kind in WAITING_MOVES and not all_remaining:
                return

    async def settle(self, until_first_message: bool = False) -> None:
        """Run scheduler and dispatcher until the bot has nothing more to say right now (with
        `until_first_message`: until it has said something new, moving the clock on to it)."""
        said = len(self.transcript.entries)
        for _ in range(10_000):
            turn = await self.main.step(self.clock.now())
            self.transcript.collect(self.core.store, self.customer.channel, self.customer.address)
            now = self.clock.now()
            if turn.send is not None and turn.send - now <= SETTLE_HORIZON:
                self.clock.set(max(turn.send, now + timedelta(milliseconds=1)))
                continue
            if until_first_message and len(self.transcript.entries) <= said and turn.at is not None:
                self.clock.set(max(turn.at, now + timedelta(seconds=1)))
                continue
            return

    async def advance(self, duration: timedelta) -> None:
        """`wait`: move the clock on, letting everything due on the way happen."""
        end = self.clock.now() + duration
        while True:
            nxt = earliest(self.core.scheduler.next_at(), self.core.store.outbox.next_due_at())
            if nxt is None or nxt > end:
                break
            self.clock.set(max(nxt, self.clock.now()))
            await self.settle()
            if self.clock.now() >= end:
                break
        self.clock.set(end)
        await self.settle()

    # ---- results -----------------------------------------------------------------------

    def _customer_id(self) -> int:
        customer_id = self.core.store.customers.id_of_ref(SIM_CUSTOMER_REF)
        assert customer_id is not None, "the scenario's customer was imported"
        return customer_id

    def _case(self) -> Optional[CaseRow]:
        cases = self.core.store.cases.for_customer(self._customer_id())
        return cases[-1] if cases else None

    def result(self) -> dict:
        store, customer_id = self.core.store, self._customer_id()
        conversations = store.conversations.for_customer(customer_id)
        scores: dict[str, Any] = {"csat": None, "nps": None, "ces": None}
        for response in store.conversations.responses(customer_id):
            if response.metric in scores:
                scores[response.metric] = response.score
        case = self._case()
        identity = next(i for i in store.customers.identities_of(customer_id) if i.channel == self.customer.channel)
        slots_any = lambda key: any(c.slots.get(key) for c in conversations)  # noqa: E731
        last = conversations[-1] if conversations else None
        return {
            "transcript": self.transcript.public(),
            "support_channel": self.agent.posts(),
            "agents_told": self.agent.told(),
            "desk_actions": store.desk.counts(),
            "touchpoints": [{"order_id": t.order_id, "kind": t.kind, "status": t.status}
                            for order_id in store.orders.ids_of_customer(customer_id)
                            for t in store.orders.touchpoints(order_id)],
            "fix_notices": [{"sku": n.sku, "problem_type": n.problem_type, "status": n.status}
                            for n in store.fix_notices.for_customer(customer_id)],
            "outcome": {
                **scores,
                "escalated": case is not None,
                "escalation_reason": case.reason if case else None,
                "escalation_status": case.status.value if case else None,
                "review_requested": slots_any("review_requested"),
                "upsell_offered": slots_any("upsell_offered"),
                "opted_out": identity.opted_out,
                "reachable": identity.reachable,
                "rescheduled": slots_any("rescheduled"),
                "owner": last.owner.value if last else "bot",
                "delay_notices": sum(1 for c in conversations
                                     if c.flow in {self.settings.schedule.flow_of(k) for k in _late_kinds(self.settings)}),
                "tips": [c.slots["tip"] for c in conversations if c.slots.get("tip")],
                "tip_helpful": [c.slots["tip_helpful"] for c in conversations if "tip_helpful" in c.slots],
                "state": last.status.value if last else "closed",
                **self._followups(customer_id),
            },
        }

    def _followups(self, customer_id: int) -> dict:
        """Milestones that went out (their kinds), gift codes given, the referral ask, the
        testimonial and the orders placed with the customer's referral code."""
        store, kinds = self.core.store, self.settings.schedule.touchpoints
        milestones = [t.kind for order_id in store.orders.ids_of_customer(customer_id)
                      for t in store.orders.touchpoints(order_id)
                      if t.status == "started" and t.kind in kinds and kinds[t.kind].needs_history]
        testimonials = [r.text for r in store.conversations.responses(customer_id) if r.metric == "testimonial"]
        return {"milestones": milestones, "gift_codes": [g.code for g in store.referrals.gifts(customer_id)],
                "referral_asked": store.referrals.asked(customer_id),
                "testimonial": testimonials[-1] if testimonials else None,
                "referred_orders": len(store.referrals.referred_orders(customer_id))}


def _late_kinds(settings: Settings) -> set[str]:
    """The touchpoint kinds timed `from: late` (delay notices)."""
    return {name for name, kind in settings.schedule.touchpoints.items() if kind.anchor is Anchor.LATE}
