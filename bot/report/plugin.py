"""The report's built-in figures, registered as a default plugin: the same hook an outside
package implements (bot/plugins/hookspecs.py)."""
from __future__ import annotations

from typing import Any, Iterable

from bot.plugins.hookspecs import hookimpl
from bot.report.figures import BUILTIN


@hookimpl
def aftercare_report_figures() -> Iterable[Any]:
    return BUILTIN
