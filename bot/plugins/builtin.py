"""The shipped flow vocabulary, the store side of its actions and the touchpoint anchors,
registered as a default plugin:
the same hooks an outside package implements (bot/plugins/hookspecs.py); nothing here is special.
The built-in channels, report figures and sandbox platforms are default plugins of their own
rooms (bot/channels/plugin.py, bot/report/plugin.py, bot/sandbox/platforms/plugin.py)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from bot.conversation.effects import BUILTIN as BUILTIN_EFFECTS
from bot.engine import builtins
from bot.plugins.hookspecs import hookimpl
from bot.schedule import anchors


@hookimpl
def aftercare_vocabulary() -> Iterable[Any]:
    return (*builtins.ACTIONS, *builtins.GUARDS, *builtins.CONDITIONS, *builtins.VARIABLES)


@hookimpl
def aftercare_effects() -> Mapping[str, Any]:
    return BUILTIN_EFFECTS


@hookimpl
def aftercare_touchpoint_anchors() -> Iterable[Any]:
    return anchors.BUILTIN
