"""The people of the sandbox demo acting through the loopback servers, as real people would:
customers read what reached their Telegram chat or Slack DM and tap or type an answer after a
while; the agent reads the case cards in the support channel and claims, answers and resolves.

Every action is an HTTP request to the loopback Telegram or Slack server that the real
adapters then receive; each is awaited until the app has handled it, so the simulated clock
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
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Protocol

from bot.agent_events import AgentAction, AgentActionKind
from bot.channels.slack_blocks import CHOICE_PREFIX, CLAIM_ACTION, RESOLVE_ACTION
from bot.channels.telegram_links import make_link_token
from bot.orders import OrderRow
from bot.sandbox import personas as P
from bot.sandbox.world import SandboxWorld, wait_processed
from bot.store.store import Store

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
Narrate = Callable[[datetime, str, str], None]      # (when, who, what)
UNLINKED_CHAT_IDS = 880_000_000     # chat ids for customers who link by deep link (no address in the file)


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


@dataclass(frozen=True)
class Seen:
    """A bot message as the customer sees it on their screen."""

    message_id: str
    text: str
    buttons: tuple[tuple[str, str], ...]      # (label, value)


class Side(Protocol):
    """One customer's app: Telegram chat or Slack DM."""

    channel: str
    address: str
    language: str
    unlinked: bool          # links by the channel's deep link before anything can reach it

    async def setup(self) -> None: ...
    def screen(self) -> list[Seen]: ...
    async def say(self, text: str) -> None: ...
    async def press(self, seen: Seen, value: str) -> None: ...
    async def block(self) -> None: ...


def side_for(world: SandboxWorld, store: Store, row: OrderRow, number: int) -> Optional[Side]:
    """The app of `row`'s customer on its channel's loopback server (the `number`th customer of
    the run), or None when nobody can reach them."""
    name = row.customer_name or row.customer_ref
    if row.channel == "telegram":
        chat_id = int(row.address) if row.address else UNLINKED_CHAT_IDS + number
        return TelegramSide(world, store, chat_id, name.split()[0], row.language, unlinked=not row.address)
    if row.address or row.email:
        return SlackSide(world, name, row.email, row.address)
    return None


class TelegramSide:
    channel = "telegram"

    def __init__(self, world: SandboxWorld, store: Store, chat_id: int, first_name: str,
                 language: Optional[str], unlinked: bool = False) -> None:
        self.world, self.store = world, store
        self.chat_id, self.first_name, self.language = chat_id, first_name, language or "en"
        self.address = str(chat_id)
        self.unlinked = unlinked

    async def setup(self) -> None:
        await self.world.telegram_api.add_user(self.chat_id, first_name=self.first_name,
                                               language_code=self.language.split("-")[0])

    def screen(self) -> list[Seen]:
        return [Seen(str(m.message_id), m.history[0] if m.history else (m.text or m.caption or ""),
                     tuple(button for row in m.buttons for button in row))
                for m in self.world.telegram_api.messages_to(self.chat_id)]

    async def say(self, text: str) -> None:
        injected = await self.world.telegram_api.user_sends(self.chat_id, text)
        await wait_processed(self.store, "telegram", str(injected.update_id))

    async def press(self, seen: Seen, value: str) -> None:
        injected = await self.world.telegram_api.user_taps(self.chat_id, int(seen.message_id), value)
        await wait_processed(self.store, "telegram", str(injected.update_id))

    async def block(self) -> None:
        await self.world.telegram_api.block(self.chat_id)


class SlackSide:
    channel = "slack"
    language = "en"
    unlinked = False

    def __init__(self, world: SandboxWorld, name: str, email: Optional[str], user_id: Optional[str]) -> None:
        self.world = world
        self.address = world.slack_api.add_user(name, email, user_id=user_id)

    async def setup(self) -> None:
        pass

    def screen(self) -> list[Seen]:
        return [Seen(m.ts, m.text, tuple((e["text"]["text"], e["value"]) for b in m.blocks if b.get("type") == "actions"
                                         for e in b["elements"] if e["action_id"].startswith(CHOICE_PREFIX)))
                for m in self.world.slack_api.dms_to(self.address)]

    async def say(self, text: str) -> None:
        await self.world.slack_api.user_sends_dm(self.address, text)
        await self.world.slack.idle()

    async def press(self, seen: Seen, value: str) -> None:
        api = self.world.slack_api
        channel = api.dm_channel(self.address)
        message = api.message(channel, seen.message_id)
        action_id = next(e["action_id"] for b in message.blocks if b.get("type") == "actions"
                         for e in b["elements"] if e.get("value") == value)
        await api.user_clicks(self.address, channel, seen.message_id, action_id, value)
        await self.world.slack.idle()

    async def block(self) -> None:
        self.world.slack_api.deactivate(self.address)


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
        """Open the t.me link from the order confirmation page: `/start <token>`."""
        token = make_link_token(customer_id, secret, int((at + timedelta(days=14)).timestamp()))

        async def open_link() -> None:
            self.narrate(at, self.name, f"opens the t.me link from the order page (/start {token[:10]}…)")
            await self.side.say(f"/start {token}")
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


class Agent:
    """The support agent: claims a case, answers in its thread, resolves it once the customer
    has answered (or after a while without an answer).

    It works in the loopback Slack support channel, reading the case cards and pressing their
    buttons. With `core` it works the cases in the store instead, acting through the app's own
    entry for agent actions: the cases of an `aftercare chat` next to the sandbox, whose cards
    go to that process's in-memory desk, never to Slack."""

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
            self._look_in_slack(now)

    def _look_in_slack(self, now: datetime) -> None:
        api, channel = self.world.slack_api, self.world.support_channel_id
        posts = api.messages_in(channel)
        for index in range(self._read, len(posts)):
            post = posts[index]
            if post.user != api.bot_user_id and not post.bot_id:
                continue
            if not post.thread_ts or post.thread_ts == post.ts:
                self._new_card(post, now)
            else:
                case = next((c for c in self.cases.values() if c.card_ts == post.thread_ts), None)
                if case and post.text.startswith("Customer:"):
                    self._customer_answered(case, index, now)
        self._read = len(posts)

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

    def _new_card(self, post, now: datetime) -> None:
        claim = next((e for b in post.blocks if b.get("type") == "actions" for e in b.get("elements", [])
                      if e.get("action_id") == CLAIM_ACTION), None)
        if claim is None or claim["value"] in self.cases:
            return
        header = next((b["text"]["text"] for b in post.blocks if b.get("type") == "header"), "")
        reason = header.split(":", 1)[1].strip() if ":" in header else "low_score"
        fields: list[dict] = next((b.get("fields", []) for b in post.blocks if b.get("block_id") == "case_fields"), [])
        customer = next((f["text"].split("\n", 1)[1] for f in fields if f["text"].startswith("*Customer*")), "there")
        self._open(_Case(claim["value"], post.ts, reason, customer), now)

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
        api, world = self.world.slack_api, self.world
        if self.core is not None:
            ref = case.card_ts if kind is AgentActionKind.REPLY else case.number
            await self.core.on_agent_action(AgentAction(kind, ref, world.agent_id, f"sandbox-agent-{next(self._events)}",
                                                        at, text=text, channel_id=world.support_channel_id))
            row = self.core.store.cases.require(int(case.number))
            last = self.core.store.conversations.last_messages(row.conversation_id, 1)
            return last[-1].id if last else 0
        if kind is AgentActionKind.REPLY:
            await api.user_posts_in_thread(world.support_channel_id, case.card_ts, world.agent_id, text)
        else:
            action = CLAIM_ACTION if kind is AgentActionKind.CLAIM else RESOLVE_ACTION
            await api.user_clicks(world.agent_id, world.support_channel_id, case.card_ts, action, case.number)
        position = len(api.messages_in(world.support_channel_id)) - 1
        await world.slack.idle()
        return position

    async def _claim(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
        self.narrate(at, f"{P.AGENT_NAME} (agent)", f"claims case {case.number} ({case.reason}, {case.customer})")
        await self._act(AgentActionKind.CLAIM, case, at)
        self._plan(at + P.REPLY_AFTER_CLAIM_MIN * self.minute, case, "answers", self._reply)

    async def _reply(self, case: _Case, at: datetime) -> None:
        if case.resolved:
            return
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
