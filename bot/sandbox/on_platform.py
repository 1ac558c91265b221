"""`simulate` on a platform channel: the scripted customer and agent act through the channel's
loopback server and the real adapter (`bot.sandbox.platforms`), found by the scenario's
channel name."""
from __future__ import annotations

from bot.base.agent_events import AgentActionKind
from bot.base.clock import SimClock
from bot.config.settings import Settings
from bot.live.core import build_core
from bot.nlu.base import Parser
from bot.sandbox.scenario import AgentMove, Scenario
from bot.sandbox.player import Simulation
from bot.sandbox.world import SandboxWorld
from bot.store.rows import CaseRow
from bot.store.store import Store


class DeskAgent:
    """The scripted agent: buttons on the case card, replies in its thread."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world

    async def act(self, move: AgentMove, case: CaseRow) -> None:
        desk = self.world.desk_client
        assert desk is not None, "a platform of the sandbox carries the support desk"
        card = case.card_ts or ""           # the card is up before an agent acts on it
        await desk.act(AgentActionKind(move.kind), card, str(case.id), move.text)

    def posts(self) -> list[dict]:
        return self.world.support_posts()


async def simulate_on_platform(scenario: Scenario, settings: Settings, parser: Parser, store: Store,
                               clock: SimClock) -> dict:
    world = SandboxWorld(settings, seconds=lambda: clock.now().timestamp())
    world.platforms.require(scenario.channel)
    await world.start()
    try:
        settings = world.settings_for_sandbox()
        core = build_core(settings, store, parser, clock, world.channels, desk=world.desk)
        await world.connect(core.on_event, core.on_agent_action)
        customer = world.running[scenario.channel].scripted_customer(store, scenario.customer)
        await customer.setup()
        simulation = Simulation(scenario, core, clock, customer, DeskAgent(world))
        simulation.import_order(settings)
        return await simulation.run()
    finally:
        await world.stop()
