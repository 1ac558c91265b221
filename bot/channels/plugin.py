"""The built-in channels (Telegram, Slack, the console) and the commands they bring, registered as
a default plugin (bot/plugins/hookspecs.py) exactly as an outside channel's package would. The
marker is pluggy's own for the `aftercare` project, so this room needs nothing from the plugin
layer above it."""
from __future__ import annotations

from typing import Any, Iterable

import pluggy

from bot.channels import console_spec, slack_spec, telegram_spec

hookimpl = pluggy.HookimplMarker("aftercare")
CHANNELS = (telegram_spec.SPEC, slack_spec.SPEC, console_spec.SPEC)


@hookimpl
def aftercare_channels() -> Iterable[Any]:
    return CHANNELS


@hookimpl
def aftercare_cli_commands() -> Iterable[Any]:
    """The commands the built-in channels bring (Telegram's opt-in links)."""
    return [command for spec in CHANNELS if (command := spec.command()) is not None]
