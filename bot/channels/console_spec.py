"""The console, declared: a terminal (`aftercare chat`) or a script (`aftercare simulate`).
No limits, no live credentials, never named in an order file."""
from __future__ import annotations

from bot.channels.spec import Capability, ChannelSpec
from bot.config.model import ConfigModel


class ConsoleSettings(ConfigModel):
    enabled: bool = True


SPEC = ChannelSpec(
    name="console",
    title="the console",
    settings=ConsoleSettings,
    importable=False,
    stop_commands=frozenset({"/stop"}),
    capabilities=frozenset({Capability.BUTTONS}),
)
