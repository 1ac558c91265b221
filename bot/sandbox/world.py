"""The loopback Telegram and Slack servers with the real adapters pointed at them: what
`simulate`, the zero-credential `make run`, tests and benchmarks use instead of the internet."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable

from bot.channels.base import Channel, SupportDesk
from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.sandbox.slack_api import SlackSandbox
from bot.sandbox.telegram_api import TelegramSandbox
from bot.store.store import Store


@dataclass
class SandboxWorld:
    """Both platforms on 127.0.0.1. `seconds` drives their rate limits (a simulated clock's)."""

    settings: Settings
    seconds: Callable[[], float]
    telegram_api: TelegramSandbox = field(init=False)
    slack_api: SlackSandbox = field(init=False)
    telegram: TelegramChannel = field(init=False)
    slack: SlackChannel = field(init=False)
    support_channel_id: str = ""
    agent_id: str = ""

    async def start(self) -> "SandboxWorld":
        self.telegram_api = TelegramSandbox(bot_username=self.settings.channels.telegram.bot_username,
                                            clock=self.seconds)
        url = await self.telegram_api.start()
        self.slack_api = SlackSandbox(clock=self.seconds)
        await self.slack_api.start()
        self.agent_id = self.slack_api.add_user("support-agent", "agent@shop.example")
        name = self.settings.escalation.support_channel.lstrip("#")
        self.support_channel_id = self.slack_api.add_channel(name, members=[self.agent_id])
        self.telegram = TelegramChannel(self.telegram_api.token, base_url=url, mode="polling",
                                        bot_username=self.settings.channels.telegram.bot_username, poll_timeout=1)
        self.slack = SlackChannel(bot_token=self.slack_api.token, signing_secret=self.slack_api.signing_secret,
                                  base_url=self.slack_api.base_url, support_channels=[self.support_channel_id],
                                  clock=self.seconds)
        return self

    @property
    def channels(self) -> dict[str, Channel]:
        """The customer channels by name, as the core takes them."""
        return {self.telegram.name: self.telegram, self.slack.name: self.slack}

    @property
    def desk(self) -> SupportDesk:
        """Where agents see cases (the Slack support channel)."""
        return self.slack.desk

    def settings_for_sandbox(self) -> Settings:
        """The settings with the support channel pointed at the sandbox's channel id."""
        escalation = self.settings.escalation.copy(update={"support_channel": self.support_channel_id})
        return self.settings.copy(update={"escalation": escalation})

    async def connect(self, on_event, on_agent_action) -> None:
        await self.telegram.start(on_event)
        await self.slack.start(on_event, on_agent_action)
        self.slack_api.events_url = self.slack.events_url

    async def stop(self) -> None:
        for stop in (self.telegram.stop, self.slack.stop, self.telegram_api.stop, self.slack_api.stop):
            try:
                await stop()
            except Exception:  # noqa: BLE001 - shutting down: keep going
                pass

    def support_posts(self) -> list[dict]:
        """Every post in the support channel and its threads, as posted."""
        return [{"text": m.text} for m in self.slack_api.messages_in(self.support_channel_id)
                if m.user == self.slack_api.bot_user_id or m.bot_id]


async def wait_processed(store: Store, channel: str, event_id: str, timeout: float = 15.0) -> None:
    """Wait until the app has handled one delivered event (delivery is asynchronous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not store.events.seen(channel, event_id):
        if loop.time() > deadline:
            raise TimeoutError(f"{channel} event {event_id} was not processed within {timeout}s")
        await asyncio.sleep(0.01)
