"""`aftercare run`'s event loop: uvloop where it is installed (its loop's own CPU is CPU per
message), asyncio's where it is not, the coroutine's result either way."""
from __future__ import annotations

import asyncio
import sys

import pytest

from bot.live import eventloop


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_runs_on_uvloop_when_installed():
    pytest.importorskip("uvloop")          # installed with Rasa (sanic) and named in pyproject
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_falls_back_to_asyncio_without_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)      # import uvloop -> ImportError
    # a process without uvloop has asyncio's default policy; in this test process an earlier
    # test's import (sanic's, through Rasa) may have installed uvloop's as the global policy
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(None)
    try:
        assert eventloop.run(_loop_module()).startswith("asyncio")
    finally:
        asyncio.set_event_loop_policy(policy)


def test_aftercare_run_uses_it():
    """The CLI's `run` goes through eventloop.run (not asyncio.run)."""
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module("bot.cli.run"))
    assert "eventloop.run(run_app(" in source and "asyncio.run(" not in source
