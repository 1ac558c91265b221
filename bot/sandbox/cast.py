"""The people of the sandbox demo acting through the loopback servers, as real people would:
customers read what reached their chat or DM and tap or type an answer after a while; the
agent reads the case cards in the support channel and claims, answers and resolves.

Every action is an HTTP request to the customer's channel's loopback server (its client in
`bot.sandbox.platforms`, found by the channel name of the order) that the real adapters then
receive; each is awaited until the app has handled it, so the simulated clock
stands still while the bot thinks and the run is the same at any speed.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from bot.base.agent_events import AgentAction, AgentActionKind
from bot.orders.files import OrderRow
from bot.sandbox import personas as P
from bot.sandbox.platforms.base import DeskClient, Seen, Side
from bot.sandbox.world import SandboxWorld
from bot.store.store import Store

if TYPE_CHECKING:
    from bot.live.core import Core

log = logging.getLogger(__name__)
Narrate = Callable[[datetime, str, str], None]      # (when, who, what)
__all__ = ["Agent", "Customer", "Seen", "Side", "Timeline", "side_for"]


@dataclass(order=True)
class _Entry:
    at: datetime
    seq: int
    what: str = field(compare=False)
    act: Callable[[], Awaitable[None]] = field(compare=False)


class Timeline:
    """What the simulated people will do, and when (simulated time)."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = itertools.count()

    def add(self, at: datetime, what: str, act: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self._heap, _Entry(at, next(self._seq), what, act))

    def next_at(self) -> Optional[datetime]:
        return self._heap[0].at if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    async def run_due(self, now: datetime) -> int:
        """Play every action due by `now`, in order; returns how many ran."""
        ran = 0
        while self._heap and self._heap[0].at <= now:
            entry = heapq.heappop(self._heap)
            try:
                await entry.act()
            except Exception:  # a person's action failing must not stop the demo
                log.exception("simulated action failed: %s", entry.what)
            ran += 1
        return ran


def side_for(world: SandboxWorld, store: Store, row: OrderRow, number: int) -> Optional[Side]:
    """The app of `row`'s customer on its channel's loopback server (the `number`th customer of
    the run), or None when nobody can reach them (or the sandbox has no server for the channel)."""
    running = world.running.get(row.channel)
    return running.side(store, row, number) if running is not None else None


class Customer:
    """One customer and their persona, reacting to what reaches their screen."""

    def __init__(self, name: str, persona: P.Persona, side: Side, order_ids: list[str],
                 timeline: Timeline, narrate: Narrate, translate: Callable[[str], str] = lambda text: text) -> None:
        self.name, self.persona, self.side, self.order_ids = name, persona, side, order_ids
        self.translate = translate            # the bot's English texts as this customer reads them
        self.timeline, self.narrate = timeline, narrate
        self.kinds: Counter[str] = Counter()
        self._read = 0
        self._answers = 0

    def look(self, now: datetime) -> None:
        """Read new messages; plan an answer to each one the persona answers."""
        screen = self.side.screen()
        for seen in screen[self._read:]:
            kind = P.classify(seen.text, [value for _, value in seen.buttons], self.translate)
            move = self.persona.answer(kind, self.kinds[kind], self.side.language)
            self.kinds[kind] += 1
            if move is not None:
                self._answers += 1
                delay = P.reply_delay(self.order_ids[0], self._answers, move)
                self.timeline.add(now + timedelta(seconds=delay), f"{self.name}: {move}",
                                  functools.partial(self._act, seen, move))
        self._read = len(screen)

    async def _act(self, seen: Seen, move: P.Move) -> None:
        if isinstance(move, P.Press):
            await self.side.press(seen, move.value)
        else:
            await self.side.say(move.text)

    def plan_link(self, at: datetime, customer_id: int, secret: bytes) -> None:
        """Open the channel's deep link from the order confirmation page."""
        does, text = self.side.link_message(customer_id, secret, int((at + timedelta(days=14)).timestamp()))

        async def open_link() -> None:
            self.narrate(at, self.name, does)
            await self.side.say(text)
        self.timeline.add(at, f"{self.name} opens the deep link", open_link)

    def plan_say(self, at: datetime, text: str) -> None:
        """Write first, unprompted (a problem before any check-in)."""
        async def say() -> None:
            await self.side.say(text)
        self.timeline.add(at, f"{self.name} writes", say)

    def plan_block(self, at: datetime) -> None:
        async def block() -> None:
            self.narrate(at, self.name, f"blocks the bot on {self.side.channel}")
            await self.side.block()
        self.timeline.add(at, f"{self.name} blocks the bot", block)


@dataclass
class _Case:
    number: str
    card_ts: str
    reason: str
    customer: str
    answered_after: Optional[int] = None      # the customer's answer counts from this post / message id
    closing: bool = False
    resolved: bool = False
    owner: str = ""                           # the agent who owns it on the desk ("" : the first)


class Agent:
    """The support agent: claims a case, answers in its thread, resolves it once the customer
    has answered (or after a while without an answer).

    It works in the loopback support channel, reading the case cards and pressing their
    buttons. With `core` it works the cases in the store instead, acting through the app's own
    entry for agent actions: the cases of an `aftercare chat` next to the sandbox, whose cards
    go to that process's in-memory desk, never to the platform."""

    def __init__(self, world: SandboxWorld, timeline: Timeline, narrate: Narrate,
                 minute: timedelta = timedelta(minutes=1), core: Optional["Core"] = None) -> None:
        self.world, self.timeline, self.narrate = world, timeline, narrate
        self.minute = minute          # how long an agent's "minute" is (shorter when a person plays)
        self.core = core
        self.cases: dict[str, _Case] = {}
        self._read = 0
        self._events = itertools.count(1)

    def look(self, now: datetime) -> None:
        if self.core is not None:
            self._look_in_store(now)
        else:
            self._look_on_desk(now)

    def _look_on_desk(self, now: datetime) -> None:
        posts, self._read = self._desk().read(self._read)
        for post in posts:
            if post.card is not None:
                if post.card.number not in self.cases:
                    card = post.card
                    self._open(_Case(card.number, card.card_ts, card.reason, card.customer), now)
            else:
                case = next((c for c in self.cases.values() if c.card_ts == post.thread), None)
                if case and post.text.startswith("Customer:"):
                    self._customer_answered(case, post.position, now)

    def _desk(self) -> DeskClient:
        desk = self.world.desk_client
        assert desk is not None, "a platform of the sandbox carries the support desk"
        return desk

    def _look_in_store(self, now: datetime) -> None:
        assert self.core is not None, "an agent working the store's cases has the core"
        store = self.core.store
        for row in store.cases.all_active():
            case = self.cases.get(str(row.id))
            if case is None and row.card_ts:
                name = store.customers.get(row.customer_id).name or "there"
                self._open(_Case(str(row.id), row.card_ts, row.reason, name), now)
            elif case is not None:
                last = store.conversations.last_messages(row.conversation_id, 1)
                if last and last[-1].sender == "customer":
                    self._customer_answered(case, last[-1].id, now)

    def _open(self, case: _Case, now: datetime) -> None:
        self.cases[case.number] = case
        delay = P.claim_delay_minutes(len(self.cases))
        self._plan(now + delay * self.minute, case, "claims", self._claim)

    def _customer_answered(self, case: _Case, position: int, now: datetime) -> None:
        if case.answered_after is not None and position > case.answered_after and not case.closing:
            case.closing = True
            self._plan(now + P.RESOLVE_AFTER_ANSWER_MIN * self.minute, case, "closes", self._close)

    def _plan(self, at: datetime, case: _Case, verb: str, act: Callable[[_Case, datetime], Awaitable[None]]) -> None:
        self.timeline.add(at, f"{P.AGENT_NAME} {verb} case {case.number}", lambda: act(case, at))

    async def _act(self, kind: AgentActionKind, case: _Case, at: datetime, text: str = "") -> int:
        """Press a card button or post in the thread; returns where the customer's answers start."""
        world = self.world
        if self.core is not None:
            ref = case.card_ts if kind is AgentActionKind.REPLY else case.number
            await self.core.on_agent_action(AgentAction(kind, ref, world.agent_id, f"sandbox-agent-{next(self._events)}",
                                                        at, text=text, channel_id=world.support_channel_id))
            row = self.core.store.cases.require(int(case.number))
            last = self.core.store.conversations.last_messages(row.conversation_id, 1)
            return last[-1].id if last else 0
        if case.owner:
            return await self._move(kind.value, case, text=text)
        return await self._desk().act(kind, case.card_ts, case.number, text)

    async def _move(self, move: str, case: _Case, *, text: str = "", value: str = "") -> int:
        """Any desk move on the platform (a modal, the people picker, ...) by the case's owner;
        returns where the customer's answers start."""
        desk = self._desk()
        await desk.desk_move(move, case.card_ts, case.number, text=text, value=value,
                             agent=case.owner or desk.agent_ids()[0])
        return desk.read(1 << 30)[1] - 1

    async def _desk_day(self, case: _Case, at: datetime) -> bool:
        """What the agents do besides claim, reply and resolve, one kind per case in turn, so a
        run uses each: look up the customer's history, then a private note, a hand-over to the
        second agent (who answers from then on), a saved reply, a goodwill code sent with the
        saved reply that carries it, or a one-hour snooze. True when the reply was sent."""
        if self.core is not None:
            return False
        desk = self._desk()
        first, second = desk.agent_ids()
        await self._move("history", case)
        style = int(case.number) % 5
        if style == 1:
            self.narrate(at, f"{P.AGENT_NAME} (agent)", f"leaves a private note on case {case.number}")
            await self._move("note", case, text="Checked the order history: first problem with this customer.")
        elif style == 2 and second != first:
            self.narrate(at, f"{P.AGENT_NAME} (agent)", f"hands case {case.number} to the second agent")
            await self._move("assign", case, value=second)
            case.owner = second
        elif style == 3:
            self.narrate(at, f"{P.AGENT_NAME} (agent)", f"answers case {case.number} with a saved reply")
            case.answered_after = await self._move("saved_reply", case, value="replacement", text=self._signed(case))
            return True
        elif style == 4:
            self.narrate(at, f"{P.AGENT_NAME} (agent)", f"gives a goodwill code on case {case.number}")
            case.answered_after = await self._move("saved_reply", case, value="goodwill", text=self._signed(case))
            return True
        return False

    @staticmethod
    def _signed(case: _Case) -> str:
        """The agent's edit of a saved reply: their greeting first (how customers know a person
        wrote), then the reply as filled in."""
        return f"Hi {case.customer.split()[0]}, {P.AGENT_SIGNATURE}. {{saved}}"

    async def _claim(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        self.narrate(at, f"{P.AGENT_NAME} (agent)", f"claims case {case.number} ({case.reason}, {case.customer})")
        await self._act(AgentActionKind.CLAIM, case, at)
        self._plan(at + P.REPLY_AFTER_CLAIM_MIN * self.minute, case, "answers", self._reply)

    async def _reply(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        if await self._desk_day(case, at):
            self._plan(at + P.RESOLVE_WITHOUT_ANSWER_MIN * self.minute, case, "resolves", self._resolve)
            return
        if self.core is None and int(case.number) % 5 == 0 and not case.closing:
            self.narrate(at, f"{P.AGENT_NAME} (agent)", f"snoozes case {case.number} for an hour")
            await self._move("snooze", case, value="1h")
            case.closing = True           # answers once, after the snooze
            self._plan(at + 60 * self.minute, case, "answers", self._answer)
            return
        await self._answer(case, at)

    async def _answer(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        case.closing = False
        self.narrate(at, f"{P.AGENT_NAME} (agent)", f"answers in the thread of case {case.number}")
        text = P.agent_reply(case.reason, case.customer.split()[0])
        case.answered_after = await self._act(AgentActionKind.REPLY, case, at, text)
        self._plan(at + P.RESOLVE_WITHOUT_ANSWER_MIN * self.minute, case, "resolves", self._resolve)

    async def _close(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        await self._act(AgentActionKind.REPLY, case, at, P.AGENT_CLOSING)
        await self._resolve(case, at)

    async def _resolve(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        case.resolved = True
        self.narrate(at, f"{P.AGENT_NAME} (agent)", f"resolves case {case.number}")
        await self._act(AgentActionKind.RESOLVE, case, at)
