"""`aftercare simulate SCENARIO.yml`: one scripted conversation through the real engine, store
and NLU on a simulated clock; prints one JSON object (shared/CONVERSATION.md has the rules)."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Optional

from bot.base.agent_events import AgentAction, AgentActionKind
from bot.channels.console import ConsoleChannel, MemoryDesk
from bot.base.clock import SimClock
from bot.config.settings import Settings
from bot.live.core import Core, build_core
from bot.engine.flows import FlowSet
from bot.base.events import InboundEvent, InboundKind
from bot.nlu.base import Parser
from bot.plugins.manager import Plugins
from bot.sandbox.on_platform import simulate_on_platform, who
from bot.sandbox.scenario import AgentMove, Scenario, load_scenario
from bot.sandbox.player import SIM_CUSTOMER_REF, Simulation, desk_settings
from bot.store.rows import CaseRow
from bot.store.store import Store

__all__ = ["SIM_CUSTOMER_REF", "ConsoleCustomer", "MemoryAgent", "Simulation", "simulate_file", "simulate_scenario"]


# ---- the console sides -----------------------------------------------------------------

class ConsoleCustomer:
    """A scripted customer typing into the console channel."""

    channel = "console"
    address = "sim-customer"

    def __init__(self, core: Core) -> None:
        self.core = core
        self._ids = itertools.count(1)

    async def say(self, text: str) -> None:
        await self.core.on_event(InboundEvent("console", f"c{next(self._ids)}", self.address, InboundKind.TEXT,
                                              self.core.clock.now(), text=text))

    async def press(self, value: str, platform_message_id: Optional[str]) -> None:
        await self.core.on_event(InboundEvent("console", f"c{next(self._ids)}", self.address, InboundKind.BUTTON,
                                              self.core.clock.now(), button_value=value, reply_to=platform_message_id))

    async def block(self) -> None:
        console = self.core.channels[self.channel]
        assert isinstance(console, ConsoleChannel)
        console.block(self.address)


class MemoryAgent:
    """Scripted agents (a first and a second) acting on the in-memory support desk: the forms a
    platform would show are filled in directly."""

    AGENT_ID = "U0AGENT"
    SECOND_ID = "U0AGENT2"

    def __init__(self, core: Core, desk: MemoryDesk) -> None:
        self.core, self.desk = core, desk
        self._ids = itertools.count(1)

    async def act(self, move: AgentMove, case: CaseRow) -> None:
        agent = who(move, case, self.AGENT_ID, self.SECOND_ID)
        text, value = move.text, move.value
        if move.kind == "saved_reply":
            reply = self.core.cases.desk.replies.get(move.value)
            if reply is None:
                raise ValueError(f"no saved reply {move.value!r}")
            text = move.text or self.core.cases.desk.render(case, reply)[0]
            kind = AgentActionKind.REPLY
        else:
            kind = AgentActionKind(move.kind)
        if move.kind == "assign":
            value = self.SECOND_ID if move.value == "second" else self.AGENT_ID
        ref = str(case.card_ts if kind is AgentActionKind.REPLY else case.id)
        await self.core.on_agent_action(AgentAction(kind, ref, agent, f"agent-{next(self._ids)}",
                                                    self.core.clock.now(), text=text, value=value))

    def told(self) -> list[str]:
        return [text for _, text in self.desk.ephemerals]

    def posts(self) -> list[dict]:
        return [{"text": post.text} for post in self.desk.posts]


async def simulate_file(path, settings: Settings, parser: Parser, store: Optional[Store] = None,
                        plugins: Optional[Plugins] = None) -> dict:
    """Load, build the sides for the scenario's channel, play it, return the JSON-able result.

    The store is a throwaway in memory unless one is given (tests keep it to read afterwards).
    `plugins`: whose channels, platforms, vocabulary and effects play (the default and installed
    plugins when None)."""
    plugins = plugins if plugins is not None else Plugins.load()
    return await simulate_scenario(load_scenario(path, plugins.channels()), settings, parser, store, plugins=plugins)


async def simulate_scenario(scenario: Scenario, settings: Settings, parser: Parser, store: Optional[Store] = None,
                            flows: Optional[FlowSet] = None, plugins: Optional[Plugins] = None) -> dict:
    """Play a scenario already in memory (a benchmark makes thousands: `flows` loaded once)."""
    plugins = plugins if plugins is not None else Plugins.load()
    clock = SimClock(scenario.start or datetime.now(timezone.utc).replace(microsecond=0))
    store = store if store is not None else Store.memory()
    if scenario.channel != "console":
        return await simulate_on_platform(scenario, settings, parser, store, clock, plugins)
    desk = MemoryDesk()
    settings = desk_settings(settings, scenario)
    core = build_core(settings, store, parser, clock, {"console": ConsoleChannel()}, desk=desk, limits={},
                      flows=flows, plugins=plugins)
    simulation = Simulation(scenario, core, clock, ConsoleCustomer(core), MemoryAgent(core, desk))
    simulation.import_order(settings)
    return await simulation.run()
