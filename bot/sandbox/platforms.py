"""`simulate` on Telegram or Slack: the scripted customer and agent act through the loopback
servers and the real python-telegram-bot / slack-bolt adapters."""
from __future__ import annotations

from typing import Optional

from bot.agent_events import AgentActionKind
from bot.channels.slack_blocks import CHOICE_PREFIX, CLAIM_ACTION, RESOLVE_ACTION
from bot.clock import SimClock
from bot.config import Settings
from bot.core import build_core
from bot.nlu.base import Parser
from bot.sandbox.scenario import AgentMove, Scenario
from bot.sandbox.simulation import CustomerSide, Simulation
from bot.sandbox.world import SandboxWorld, wait_processed
from bot.store.rows import CaseRow
from bot.store.store import Store

TELEGRAM_CHAT = 1001


class TelegramCustomer:
    channel = "telegram"
    address = str(TELEGRAM_CHAT)

    def __init__(self, world: SandboxWorld, store: Store, name: str, language: str) -> None:
        self.world, self.store, self.name, self.language = world, store, name, language

    async def setup(self) -> None:
        await self.world.telegram_api.add_user(TELEGRAM_CHAT, first_name=self.name.split()[0] if self.name else "Customer",
                                               language_code=self.language)

    async def say(self, text: str) -> None:
        injected = await self.world.telegram_api.user_sends(TELEGRAM_CHAT, text)
        await wait_processed(self.store, "telegram", str(injected.update_id))

    async def press(self, value: str, platform_message_id: Optional[str]) -> None:
        assert platform_message_id is not None, "a tap is on a message the bot sent"
        injected = await self.world.telegram_api.user_taps(TELEGRAM_CHAT, int(platform_message_id), value)
        await wait_processed(self.store, "telegram", str(injected.update_id))

    async def block(self) -> None:
        await self.world.telegram_api.block(TELEGRAM_CHAT)


class SlackCustomer:
    channel = "slack"

    def __init__(self, world: SandboxWorld, name: str, email: str) -> None:
        self.world = world
        self.address = world.slack_api.add_user(name or "customer", email)

    async def setup(self) -> None:
        pass

    async def say(self, text: str) -> None:
        await self.world.slack_api.user_sends_dm(self.address, text)
        await self.world.slack.idle()

    async def press(self, value: str, platform_message_id: Optional[str]) -> None:
        api = self.world.slack_api
        assert platform_message_id is not None, "a click is on a message the bot sent"
        message = api.message(api.dm_channel(self.address), platform_message_id)
        action_id = next(e["action_id"] for b in message.blocks if b.get("type") == "actions"
                         for e in b["elements"] if e.get("value") == value and e["action_id"].startswith(CHOICE_PREFIX))
        await api.user_clicks(self.address, api.dm_channel(self.address), platform_message_id, action_id, value)
        await self.world.slack.idle()

    async def block(self) -> None:
        self.world.slack_api.deactivate(self.address)


class SlackAgent:
    """The scripted agent: buttons on the case card, replies in its thread."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world

    async def act(self, move: AgentMove, case: CaseRow) -> None:
        api, channel = self.world.slack_api, self.world.support_channel_id
        kind = AgentActionKind(move.kind)
        card = case.card_ts or ""           # the card is up before an agent acts on it
        if kind is AgentActionKind.REPLY:
            await api.user_posts_in_thread(channel, card, self.world.agent_id, move.text)
        else:
            action = CLAIM_ACTION if kind is AgentActionKind.CLAIM else RESOLVE_ACTION
            await api.user_clicks(self.world.agent_id, channel, card, action, str(case.id))
        await self.world.slack.idle()

    def posts(self) -> list[dict]:
        return self.world.support_posts()


async def simulate_on_platform(scenario: Scenario, settings: Settings, parser: Parser, store: Store,
                               clock: SimClock) -> dict:
    world = await SandboxWorld(settings, seconds=lambda: clock.now().timestamp()).start()
    try:
        settings = world.settings_for_sandbox()
        channels = world.channels
        core = build_core(settings, store, parser, clock, channels, desk=world.desk)
        await world.connect(core.on_event, core.on_agent_action)
        name = str(scenario.customer.get("name", "Sam Customer"))
        customer: CustomerSide
        if scenario.channel == "telegram":
            customer = TelegramCustomer(world, store, name, str(scenario.customer.get("language", "en")))
        else:
            customer = SlackCustomer(world, name, str(scenario.customer.get("email", "customer@example.com")))
        await customer.setup()
        simulation = Simulation(scenario, core, clock, customer, SlackAgent(world))
        simulation.import_order(settings)
        return await simulation.run()
    finally:
        await world.stop()
