"""The extension contract: every way to add to Aftercare is one of these hooks (pluggy, as
datasette does). The built-ins implement them exactly as an outside package would
(bot/plugins/builtin.py, bot/channels/plugin.py, bot/report/plugin.py,
bot/sandbox/platforms/plugin.py); an outside package registers a module
or object with `@hookimpl` functions under the `aftercare` entry point group:

    [project.entry-points.aftercare]
    webchat = "aftercare_webchat.plugin"

Each hook returns a list; the manager (bot/plugins/manager.py) gathers every plugin's."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import pluggy

PROJECT = "aftercare"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def aftercare_vocabulary() -> Iterable[Any]:
    """Flow words: `Action`, `Guard`, `Condition` and `Variable` entries (bot/engine/vocabulary.py).
    An action's engine side is pure; what it writes to the store is its effect's applier."""
    return ()


@hookspec
def aftercare_effects() -> Mapping[str, Any]:
    """Effect name -> applier (`Callable[[Effect], None]`, bot/conversation/effects.py): the store
    side of an action, run by the runner in the transaction of the step that emitted it."""
    return {}


@hookspec
def aftercare_channels() -> Iterable[Any]:
    """`ChannelSpec`s (bot/channels/spec.py): a channel's name, config section model, limits,
    addresses, STOP commands, capabilities and live adapter. Config is validated with the
    sections of every channel the plugins declare."""
    return ()


@hookspec
def aftercare_sandbox_platforms() -> Iterable[Any]:
    """`Platform`s (bot/sandbox/platforms/base.py): a channel's loopback server and its
    clients, for `make run`'s sandbox and `simulate --channel`."""
    return ()


@hookspec
def aftercare_touchpoint_anchors() -> Iterable[Any]:
    """`TouchpointAnchor`s (bot/schedule/anchors.py): moments a touchpoint kind may be timed
    from (`from: <name>` in config.yml), each a pure function of the order's facts."""
    return ()


@hookspec
def aftercare_report_figures() -> Iterable[Any]:
    """`ReportFigure`s (bot/report/figures.py): a figure of `aftercare report`, computed once
    from the store for the period and shown by every view (JSON, terminal, CSV, the page)."""
    return ()


@hookspec
def aftercare_cli_commands() -> Iterable[Any]:
    """click commands (or groups) added to `aftercare`. A command gets the settings and the
    store from the click context (`ctx.find_root().obj["settings"]()` and `["store"](settings)`)
    instead of importing the CLI."""
    return ()
