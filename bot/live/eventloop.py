"""The event loop a long-running bot process runs on: uvloop where it is installed, else asyncio's.

The bot in process is bound to one core (the event loop's thread and the parse thread's Python
share the GIL), so the loop's own CPU is CPU per message: uvloop (libuv; already installed with
Rasa's sanic) schedules callbacks, timers, thread wake-ups and socket I/O in C, where asyncio's
selector loop does each in Python. Nothing else changes: the same coroutines, the same
`asyncio` API (signal handlers, `to_thread`, aiohttp) on top.
"""
from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop when it can be imported (Linux, macOS), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:              # e.g. Windows: uvloop does not build there
        return asyncio.run(main)
    return uvloop.run(main)


__all__ = ["run"]
