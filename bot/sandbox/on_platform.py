"""`simulate` on a platform channel: the scripted customer and agent act through the channel's
loopback server and the real adapter (`bot.sandbox.platforms`), found by the scenario's
channel name."""
from __future__ import annotations

from bot.base.clock import SimClock
from bot.config.settings import Settings
from bot.live.core import build_core
from bot.nlu.base import Parser
from bot.plugins.manager import Plugins
from bot.sandbox.platforms.base import DeskClient
from bot.sandbox.scenario import AgentMove, Scenario
from bot.sandbox.player import Simulation, desk_settings
from bot.sandbox.world import SandboxWorld
from bot.store.rows import CaseRow
from bot.store.store import Store


class DeskAgent:
    """The scripted agents (a first and a second): buttons on the case card, modals, the people
    picker, replies in its thread; a move is played by the case's owner unless it says `by`."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world

    def _desk(self) -> DeskClient:
        desk = self.world.desk_client
        assert desk is not None, "a platform of the sandbox carries the support desk"
        return desk

    async def act(self, move: AgentMove, case: CaseRow) -> None:
        desk = self._desk()
        first, second = desk.agent_ids()
        agent = who(move, case, first, second)
        value = (second if move.value == "second" else first) if move.kind == "assign" else move.value
        card = case.card_ts or ""           # the card is up before an agent acts on it
        await desk.desk_move(move.kind, card, str(case.id), text=move.text, value=value, agent=agent)

    def told(self) -> list[str]:
        desk = self._desk()
        return [line for agent in dict.fromkeys(desk.agent_ids()) for line in desk.told(agent)]

    def posts(self) -> list[dict]:
        return self.world.support_posts()


def who(move: AgentMove, case: CaseRow, first: str, second: str) -> str:
    """The agent who plays `move`: the one it names, else the case's owner, else the first."""
    if move.by:
        return first if move.by == "first" else second
    return second if case.agent == second else first


async def simulate_on_platform(scenario: Scenario, settings: Settings, parser: Parser, store: Store,
                               clock: SimClock, plugins: Plugins) -> dict:
    world = SandboxWorld.of(plugins, settings, seconds=lambda: clock.now().timestamp())
    world.platforms.require(scenario.channel)
    await world.start()
    try:
        settings = desk_settings(world.settings_for_sandbox(), scenario)
        core = build_core(settings, store, parser, clock, world.channels, desk=world.desk, plugins=plugins)
        await world.connect(core.on_event, core.on_agent_action)
        customer = world.running[scenario.channel].scripted_customer(store, scenario.customer)
        await customer.setup()
        simulation = Simulation(scenario, core, clock, customer, DeskAgent(world))
        simulation.import_order(settings)
        return await simulation.run()
    finally:
        await world.stop()
