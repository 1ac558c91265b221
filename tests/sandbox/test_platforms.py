"""The sandbox finds a platform by the channel name its data gives: a toy platform registered
from the tests folder is started, connected and stopped by the generic world."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pytest

from bot.channels.console import ConsoleChannel
from bot.sandbox.platforms.base import DeskClient, Platform
from bot.plugins.manager import Plugins
from bot.sandbox.platforms.registry import PlatformRegistry
from bot.sandbox.world import SandboxWorld
from tests.support.harness import make_settings


class ToyServer:
    stopped = False

    async def stop(self) -> None:
        self.stopped = True


class ToyRunning:
    name = "toy"
    desk_client: Optional[DeskClient] = None
    url = "toy://loopback"

    def __init__(self) -> None:
        self.server = ToyServer()
        self.adapter = ConsoleChannel()
        self.connected = False

    async def connect(self, on_event, on_agent_action) -> None:
        self.connected = True

    def side(self, store, row, number):
        return None

    def scripted_customer(self, store, customer: Mapping[str, Any]):
        raise NotImplementedError


async def _start(settings, seconds) -> ToyRunning:
    return ToyRunning()


TOY = Platform("toy", _start, lambda base_url, token: ConsoleChannel())


def test_require_names_the_known_platforms():
    with pytest.raises(ValueError, match=r"no loopback server for channel 'fax' \(it has: toy\)"):
        PlatformRegistry((TOY,)).require("fax")


def test_a_name_is_registered_once():
    registry = PlatformRegistry((TOY,))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Platform("toy", _start, TOY.sender))


def test_the_builtins_are_the_channels_with_a_loopback_server():
    shipped = PlatformRegistry.of(Plugins.load(entry_points=False)).names()
    assert set(shipped) <= {"telegram", "slack"} and shipped
    assert shipped == PlatformRegistry().names()


def test_a_registration_stays_in_its_own_registry():
    """No process-wide registry: what one caller registers, another never sees."""
    mine = PlatformRegistry()
    mine.register(TOY)
    assert "toy" in mine.names() and "toy" not in PlatformRegistry().names()
    assert "toy" not in PlatformRegistry.of(Plugins.load(entry_points=False)).names()


async def test_the_world_runs_a_registered_toy_platform():
    world = SandboxWorld(make_settings(), seconds=lambda: 0.0, platforms=PlatformRegistry((TOY,)))
    await world.start()
    running = world.running["toy"]
    assert world.channels == {"toy": running.adapter} and world.desk_client is None
    await world.connect(lambda event: None, lambda action: None)   # type: ignore[arg-type,return-value]
    assert running.connected and world.describe() == "toy toy://loopback"   # no channel spec: its name
    with pytest.raises(LookupError, match="no sandbox platform carries a support desk"):
        world.support_channel_id
    await world.stop()
    assert world.server("toy").stopped
