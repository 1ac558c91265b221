"""The shipped flow vocabulary and the store side of its actions, registered as a default plugin:
the same hooks an outside package implements (bot/plugins/hookspecs.py); nothing here is special.
The built-in channels and sandbox platforms are default plugins of their own rooms
(bot/channels/plugin.py, bot/sandbox/platforms/plugin.py)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from bot.conversation.effects import BUILTIN as BUILTIN_EFFECTS
from bot.engine import builtins
from bot.plugins.hookspecs import hookimpl


@hookimpl
def aftercare_vocabulary() -> Iterable[Any]:
    return (*builtins.ACTIONS, *builtins.GUARDS, *builtins.CONDITIONS, *builtins.VARIABLES)


@hookimpl
def aftercare_effects() -> Mapping[str, Any]:
    return BUILTIN_EFFECTS
