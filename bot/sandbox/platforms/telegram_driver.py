"""Telegram in the sandbox: the loopback Bot API with the real python-telegram-bot adapter
pointed at it, and its clients: a customer's chat for the demo's personas (`TelegramSide`)
and for a `simulate` scenario (`TelegramCustomer`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from bot.base.agent_events import AgentActionHandler
from bot.channels.base import Channel, EventHandler
from bot.channels.telegram_links import make_link_token
from bot.config.settings import Settings
from bot.orders.files import OrderRow
from bot.channels import registry
from bot.sandbox.platforms.base import DeskClient, Platform, PlatformCustomer, Seconds, Seen, Side, wait_processed
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store

if TYPE_CHECKING:     # the SDK is imported when an adapter is built (a worker builds one channel's only)
    from bot.channels.telegram import TelegramChannel

NAME = "telegram"
TELEGRAM_CHAT = 1001                # the chat of a `simulate` scenario's customer
UNLINKED_CHAT_IDS = 880_000_000     # chat ids for customers who link by deep link (no address in the file)


class TelegramRunning:
    """The loopback Bot API and a polling `TelegramChannel` talking to it."""

    name = NAME
    desk_client: Optional[DeskClient] = None

    def __init__(self, server: TelegramSandbox, adapter: TelegramChannel) -> None:
        self.server, self.adapter = server, adapter

    @classmethod
    async def start(cls, settings: Settings, seconds: Seconds) -> "TelegramRunning":
        from bot.channels.telegram import TelegramChannel
        username = registry.section(settings, "telegram").bot_username
        server = TelegramSandbox(bot_username=username, clock=seconds)
        url = await server.start()
        adapter = TelegramChannel(server.token, base_url=url, mode="polling", bot_username=username, poll_timeout=1)
        return cls(server, adapter)

    @property
    def url(self) -> str:
        return self.server.url

    async def connect(self, on_event: EventHandler, on_agent_action: AgentActionHandler) -> None:
        await self.adapter.start(on_event)

    def side(self, store: Store, row: OrderRow, number: int) -> Optional[Side]:
        name = row.customer_name or row.customer_ref
        chat_id = int(row.address) if row.address else UNLINKED_CHAT_IDS + number
        return TelegramSide(self.server, store, chat_id, name.split()[0], row.language, unlinked=not row.address)

    def scripted_customer(self, store: Store, customer: Mapping[str, Any]) -> PlatformCustomer:
        return TelegramCustomer(self.server, store, str(customer.get("name", "Sam Customer")),
                                str(customer.get("language", "en")))


class TelegramSide:
    """A customer's Telegram chat in the demo."""

    channel = NAME

    def __init__(self, api: TelegramSandbox, store: Store, chat_id: int, first_name: str,
                 language: Optional[str], unlinked: bool = False) -> None:
        self.api, self.store = api, store
        self.chat_id, self.first_name, self.language = chat_id, first_name, language or "en"
        self.address = str(chat_id)
        self.unlinked = unlinked

    async def setup(self) -> None:
        await self.api.add_user(self.chat_id, first_name=self.first_name, language_code=self.language.split("-")[0])

    def screen(self) -> list[Seen]:
        return [Seen(str(m.message_id), m.history[0] if m.history else (m.text or m.caption or ""),
                     tuple(button for row in m.buttons for button in row))
                for m in self.api.messages_to(self.chat_id)]

    async def say(self, text: str) -> None:
        injected = await self.api.user_sends(self.chat_id, text)
        await wait_processed(self.store, NAME, str(injected.update_id))

    async def press(self, seen: Seen, value: str) -> None:
        injected = await self.api.user_taps(self.chat_id, int(seen.message_id), value)
        await wait_processed(self.store, NAME, str(injected.update_id))

    async def block(self) -> None:
        await self.api.block(self.chat_id)

    def link_message(self, customer_id: int, secret: bytes, expires: int) -> tuple[str, str]:
        """Open the t.me link from the order confirmation page: `/start <token>`."""
        token = make_link_token(customer_id, secret, expires)
        return f"opens the t.me link from the order page (/start {token[:10]}…)", f"/start {token}"


class TelegramCustomer:
    """A `simulate` scenario's customer in Telegram chat `TELEGRAM_CHAT`."""

    channel = NAME
    address = str(TELEGRAM_CHAT)

    def __init__(self, api: TelegramSandbox, store: Store, name: str, language: str) -> None:
        self.api, self.store, self.name, self.language = api, store, name, language

    async def setup(self) -> None:
        await self.api.add_user(TELEGRAM_CHAT, first_name=self.name.split()[0] if self.name else "Customer",
                                language_code=self.language)

    async def say(self, text: str) -> None:
        injected = await self.api.user_sends(TELEGRAM_CHAT, text)
        await wait_processed(self.store, NAME, str(injected.update_id))

    async def press(self, value: str, platform_message_id: Optional[str]) -> None:
        assert platform_message_id is not None, "a tap is on a message the bot sent"
        injected = await self.api.user_taps(TELEGRAM_CHAT, int(platform_message_id), value)
        await wait_processed(self.store, NAME, str(injected.update_id))

    async def block(self) -> None:
        await self.api.block(TELEGRAM_CHAT)


def sender(base_url: str, token: str) -> Channel:
    """A send-only adapter (the dispatcher worker's)."""
    from bot.channels.telegram import TelegramChannel
    return TelegramChannel(token, base_url=base_url, mode="polling")


PLATFORM = Platform(NAME, TelegramRunning.start, sender, loggers=("telegram",), token_env="TELEGRAM_BOT_TOKEN")
