"""A network-free Aftercare for tests: the real core (store, engine, runner, case desk, inbound,
scheduler, dispatcher) on a simulated clock, with a fake Telegram channel, an in-memory support
desk and the table-driven stand-in NLU. Tests drive it like a customer and an agent would."""
from __future__ import annotations

import functools
import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Union

from bot.base.agent_events import AgentAction, AgentActionKind
from bot.channels.console import MemoryDesk
from bot.base.clock import SimClock, parse_iso
from bot.config.settings import Settings
from bot.config.loading import load_settings
from bot.live.core import Core, build_core
from bot.flowfiles import load_flows
from bot.base.events import ChoiceMade, InboundEvent, InboundKind, OutboundMessage, SendResult, SendStatus
from bot.orders.importing import import_rows
from bot.nlu.base import Parse, SyncParser
from bot.orders.files import OrderRow
from bot.store.rows import CaseRow, ConversationRow, ResponseRow, TouchpointRow
from bot.store.store import Store
from tests.support.table_parser import TableParser

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.yml"
DIALOGS = ROOT / "dialogs"
# A Monday, 10:00 in Lisbon (UTC+0 in November): outside the 21:00-09:00 quiet hours.
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ADDRESS = "1001"


@functools.lru_cache(maxsize=None)
def shipped_flows():
    """dialogs/ loaded once per test run (flows are immutable)."""
    return load_flows(DIALOGS)


def make_settings(**overrides: Any) -> Settings:
    """The shipped config.yml (no secrets in the environment) with `overrides` merged in."""
    return load_settings(CONFIG, environ={}, overrides=overrides or None)


def write_config(folder: Path, store_path: Path) -> Path:
    """The shipped config.yml as `folder`/config.yml, with its store at `store_path` and dialogs/
    at an absolute path: what CLI tests run `aftercare --config` with."""
    lines: list[str] = []
    for line in CONFIG.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("path:") and lines and not lines[-1].startswith(" "):
            line = f"  path: {store_path}"
        lines.append(line)
    lines.append(f"dialogs_dir: {DIALOGS}")
    path = folder / "config.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class RecordingParser(SyncParser):
    """Wraps a parser and remembers every text it was asked about."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner or TableParser()
        self.calls: list[str] = []
        self.languages: list[Optional[str]] = []     # the language hint each call came with

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        self.calls.append(text)
        self.languages.append(language)
        return self.inner.parse(text)


class FakeChannel:
    """A Telegram-like channel: records what it delivered; `script` queues non-SENT results."""

    def __init__(self, name: str = "telegram") -> None:
        self.name = name
        self.delivered: list[OutboundMessage] = []
        self.attempts: list[OutboundMessage] = []
        self.chosen: list[ChoiceMade] = []
        self.blocked: set[str] = set()
        self.script: list[Union[SendResult, Callable[[OutboundMessage], SendResult]]] = []
        self._ids = itertools.count(100)

    async def start(self, on_event, on_agent_action=None) -> None:  # pragma: no cover - protocol
        pass

    async def stop(self) -> None:  # pragma: no cover - protocol
        pass

    async def send(self, message: OutboundMessage) -> SendResult:
        self.attempts.append(message)
        if message.address in self.blocked:
            return SendResult(SendStatus.UNREACHABLE, error="Forbidden: bot was blocked by the user")
        if self.script:
            planned = self.script.pop(0)
            result = planned(message) if callable(planned) else planned
            if result.status is not SendStatus.SENT:
                return result
        self.delivered.append(message)
        return SendResult(SendStatus.SENT, platform_message_id=str(next(self._ids)))

    async def mark_chosen(self, choice: ChoiceMade) -> None:
        self.chosen.append(choice)

    def texts(self, address: str = ADDRESS) -> list[str]:
        return [m.text for m in self.delivered if m.address == address]


class Harness:
    """The real core with fakes at its edges; `await h.pump()` lets the bot finish talking."""

    def __init__(self, settings: Optional[Settings] = None, parser: Any = None, start: datetime = T0,
                 limits: Optional[dict] = None, flows=None, desk: Optional[MemoryDesk] = None, effects=None) -> None:
        self.settings = settings or make_settings()
        self.clock = SimClock(start)
        self.store = Store.memory()
        self.channel = FakeChannel()
        self.desk = desk if desk is not None else MemoryDesk()
        self.parser = parser if parser is not None else RecordingParser()
        self.core: Core = build_core(self.settings, self.store, self.parser, self.clock,
                                     {"telegram": self.channel}, desk=self.desk,
                                     flows=flows or shipped_flows(), limits=limits if limits is not None else {},
                                     effects=effects)
        self._events = itertools.count(1)
        self._agent_events = itertools.count(1)

    # ---- orders -----------------------------------------------------------------------

    def add_order(self, order_id: str = "A-1", sku: str = "TR2-44", product: str = "Trail Runner 2 shoes",
                  category: str = "footwear", delivered: Optional[datetime] = None, address: Optional[str] = ADDRESS,
                  customer_ref: str = "C-1", name: str = "Ana Silva", consent: bool = True,
                  timezone_name: Optional[str] = None, status: str = "delivered", quantity: int = 1,
                  purchased: Optional[datetime] = None, language: Optional[str] = None):
        now = self.clock.now()
        delivered = delivered if delivered is not None or status != "delivered" else now - timedelta(days=4)
        purchased = purchased or (delivered or now) - timedelta(days=3)
        row = OrderRow(line=1, order_id=order_id, customer_ref=customer_ref, channel="telegram", product=product,
                       sku=sku, category=category, purchased_at=purchased, quantity=quantity, customer_name=name,
                       address=address, timezone=timezone_name, shipped_at=purchased + timedelta(days=1),
                       delivered_at=delivered, status=status, consent=consent, language=language)
        return import_rows(self.store, self.settings, [row], now)

    def touchpoint(self, order_id: str, kind: str) -> TouchpointRow:
        return next(t for t in self.store.orders.touchpoints(order_id) if t.kind == kind)

    async def start_checkin(self, order_id: str = "A-1", **order: Any) -> None:
        """Import an order and jump to its check-in, skipping the thank-you (as `simulate` does)."""
        self.add_order(order_id, **order)
        due = parse_iso(self.touchpoint(order_id, "checkin").due_at)
        start = max(due, self.clock.now())
        self.store.orders.skip_touchpoints_before(order_id, start)
        self.clock.set(start)
        await self.pump()

    # ---- running ----------------------------------------------------------------------

    async def pump(self, horizon: timedelta = timedelta(minutes=2)) -> None:
        """Scheduler + dispatcher until nothing more is due within `horizon` (retries, spacing)."""
        for _ in range(1000):
            self.core.scheduler.tick(self.clock.now())
            nxt = await self.core.dispatcher.run_once()
            now = self.clock.now()
            if nxt is not None and nxt - now <= horizon:
                self.clock.set(max(nxt, now + timedelta(milliseconds=1)))
                continue
            return
        raise AssertionError("the bot never settled")

    async def advance(self, delta: timedelta) -> None:
        """Move the clock on by `delta`, letting everything due on the way happen in order."""
        end = self.clock.now() + delta
        for _ in range(1000):
            upcoming = [t for t in (self.core.scheduler.next_at(), self.store.outbox.next_due_at()) if t]
            nxt = min(upcoming) if upcoming else None
            if nxt is None or nxt > end:
                break
            self.clock.set(max(nxt, self.clock.now()))
            await self.pump(horizon=timedelta(0))
        self.clock.set(end)
        await self.pump(horizon=timedelta(0))

    # ---- the customer -----------------------------------------------------------------

    def event(self, kind: InboundKind = InboundKind.TEXT, address: str = ADDRESS, event_id: Optional[str] = None,
              **fields: Any) -> InboundEvent:
        return InboundEvent("telegram", event_id or f"e{next(self._events)}", address, kind, self.clock.now(), **fields)

    async def deliver(self, event: InboundEvent) -> bool:
        handled = self.core.inbound.handle(event, self.clock.now())
        await self.pump()
        return handled

    async def say(self, text: str, address: str = ADDRESS) -> bool:
        return await self.deliver(self.event(InboundKind.TEXT, address, text=text))

    async def press(self, value: str, address: str = ADDRESS, reply_to: Optional[str] = "current") -> bool:
        """Tap a button; by default on the last question the customer was shown."""
        if reply_to == "current":
            reply_to = self.last_question_id(address)
        return await self.deliver(self.event(InboundKind.BUTTON, address, button_value=value, reply_to=reply_to))

    def last_question_id(self, address: str = ADDRESS) -> Optional[str]:
        row = self.store.db.execute(
            "select platform_message_id from outbox where address = ? and status = 'sent' and buttons != '[]' "
            "and kind = 'message' order by id desc limit 1", [address]).fetchone()
        return row[0] if row else None

    # ---- the agent --------------------------------------------------------------------

    async def agent(self, kind: str, text: str = "", agent_id: str = "U0AGENT", case: Optional[CaseRow] = None) -> None:
        case = case or self.case()
        action_kind = AgentActionKind(kind)
        ref = str(case.card_ts if action_kind is AgentActionKind.REPLY else case.id)
        await self.core.on_agent_action(AgentAction(action_kind, ref, agent_id, f"a{next(self._agent_events)}",
                                                    self.clock.now(), text=text))
        await self.pump()

    # ---- what happened ----------------------------------------------------------------

    def texts(self, address: str = ADDRESS) -> list[str]:
        return self.channel.texts(address)

    def last_buttons(self, address: str = ADDRESS) -> list[str]:
        for message in reversed(self.channel.delivered):
            if message.address == address and message.buttons:
                return [b.value for b in message.buttons]
        return []

    def customer_id(self, ref: str = "C-1") -> int:
        return self.store.db.execute("select id from customers where ref = ?", [ref]).fetchone()[0]

    def identity(self, ref: str = "C-1"):
        return self.store.customers.identities_of(self.customer_id(ref))[0]

    def conversations(self, ref: str = "C-1") -> list[ConversationRow]:
        return self.store.conversations.for_customer(self.customer_id(ref))

    def conversation(self, ref: str = "C-1") -> ConversationRow:
        return self.conversations(ref)[-1]

    def cases(self, ref: str = "C-1") -> list[CaseRow]:
        return self.store.cases.for_customer(self.customer_id(ref))

    def case(self, ref: str = "C-1") -> Optional[CaseRow]:
        found = self.cases(ref)
        return found[-1] if found else None

    def responses(self, ref: str = "C-1") -> list[ResponseRow]:
        return self.store.conversations.responses(self.customer_id(ref))

    def scores(self, ref: str = "C-1") -> dict[str, int]:
        return {r.metric: r.score for r in self.responses(ref) if r.score is not None}

    def desk_texts(self) -> list[str]:
        return [post.text for post in self.desk.posts]

    def outbox(self, **where: Any) -> list[dict]:
        rows = list(self.store.db["outbox"].rows_where(order_by="id"))
        return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def buttons_of(row: dict) -> list:
    return json.loads(row["buttons"] or "[]")
