"""What a sandbox platform offers the generic drivers (world, cast, simulate, workers): a
loopback server of one channel, the real adapter pointed at it, and the clients that act on it
as customers and agents would. Each platform module declares one `Platform` under its channel's
name (`registry.py` lists them); nothing outside this package names a channel."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional, Protocol

from bot.base.agent_events import AgentActionHandler, AgentActionKind
from bot.channels.base import Channel, EventHandler, SupportDesk
from bot.config.settings import Settings
from bot.orders.files import OrderRow
from bot.store.store import Store

Seconds = Callable[[], float]        # what drives the servers' rate limits (a simulated clock's)


@dataclass(frozen=True)
class Seen:
    """A bot message as the customer sees it on their screen."""

    message_id: str
    text: str
    buttons: tuple[tuple[str, str], ...]      # (label, value)


class Side(Protocol):
    """One customer's app on one platform, as the demo's personas use it."""

    channel: str
    address: str
    language: str
    unlinked: bool          # links by the channel's deep link before anything can reach it

    async def setup(self) -> None: ...
    def screen(self) -> list[Seen]: ...
    async def say(self, text: str) -> None: ...
    async def press(self, seen: Seen, value: str) -> None: ...
    async def block(self) -> None: ...
    def link_message(self, customer_id: int, secret: bytes, expires: int) -> tuple[str, str]:
        """(what the customer does, the text that reaches the bot) to link by deep link."""
        ...


class ScriptedCustomer(Protocol):
    """How a `simulate` scenario's customer acts on one channel."""

    channel: str
    address: str

    async def say(self, text: str) -> None: ...
    async def press(self, value: str, platform_message_id: Optional[str]) -> None: ...
    async def block(self) -> None: ...


class PlatformCustomer(ScriptedCustomer, Protocol):
    """A scripted customer on a loopback platform: it joins the platform first."""

    async def setup(self) -> None: ...


@dataclass(frozen=True)
class CaseCard:
    """A case card as the agent reads it in the support channel."""

    number: str
    card_ts: str
    reason: str
    customer: str


@dataclass(frozen=True)
class DeskPost:
    """A bot post in the support channel: a new case card, or a post in a card's thread."""

    position: int                  # its place among all posts of the support channel
    card: Optional[CaseCard] = None
    thread: str = ""               # the card it was posted under ("" at top level)
    text: str = ""


class DeskClient(Protocol):
    """The support desk as an agent sees it: the support channel, its cards and buttons."""

    channel_id: str                # the support channel's id on the platform
    agent_id: str                  # the agent's user id

    @property
    def desk(self) -> SupportDesk: ...
    def read(self, start: int) -> tuple[list[DeskPost], int]:
        """The bot's posts from position `start` on, and where the next read starts."""
        ...
    async def act(self, kind: AgentActionKind, card_ts: str, number: str, text: str = "") -> int:
        """Press a card's button or answer in its thread; returns the post's position."""
        ...
    async def desk_move(self, move: str, card_ts: str, number: str, *, text: str = "", value: str = "",
                        agent: str = "") -> None:
        """Any desk move as a person makes it (scenario.AGENT_MOVES: a click, a modal filled in
        and sent, a people picker, a thread reply), by `agent` (a user id; the first agent's
        by default). `value`: the snooze, the saved reply's id, the user id to hand to;
        a saved reply's `text` is the agent's edit, where "{saved}" is the text as filled in."""
        ...
    def agent_ids(self) -> tuple[str, str]:
        """The first and the second agent of the support channel."""
        ...
    def told(self, agent: str) -> list[str]:
        """The lines only `agent` was shown (refusals, history), oldest first."""
        ...
    def posts(self) -> list[dict]:
        """Every bot post in the support channel and its threads, as posted."""
        ...


class Running(Protocol):
    """One platform started: its loopback server and the real adapter pointed at it."""

    name: str
    server: Any                    # the loopback server (tests drive it directly)

    @property
    def adapter(self) -> Channel: ...
    @property
    def desk_client(self) -> Optional[DeskClient]:
        """The agent's view of the support channel, on the platform that carries the desk."""
        ...
    @property
    def url(self) -> str: ...
    async def connect(self, on_event: EventHandler, on_agent_action: AgentActionHandler) -> None: ...
    def side(self, store: Store, row: OrderRow, number: int) -> Optional[Side]:
        """The app of `row`'s customer (the `number`th of the run), or None: nobody to reach."""
        ...
    def scripted_customer(self, store: Store, customer: Mapping[str, Any]) -> PlatformCustomer: ...


@dataclass(frozen=True)
class Platform:
    """A channel's loopback platform, declared once by its module."""

    name: str                                          # the channel's name (bot/channels)
    start: Callable[[Settings, Seconds], Awaitable[Running]]
    sender: Callable[[str, str], Channel]              # (base_url, token) -> a send-only adapter
    loggers: tuple[str, ...] = ()                      # its libraries' chatty loggers
    token_env: str = ""                                # the variable that would make it live


async def wait_processed(store: Store, channel: str, event_id: str, timeout: float = 15.0) -> None:
    """Wait until the app has handled one delivered event (delivery is asynchronous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not store.events.seen(channel, event_id):
        if loop.time() > deadline:
            raise TimeoutError(f"{channel} event {event_id} was not processed within {timeout}s")
        await asyncio.sleep(0.01)
