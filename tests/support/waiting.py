"""Waiting in async tests for something another task or process makes true."""
from __future__ import annotations

import asyncio
import time
from typing import Callable


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll `condition` every 10 ms; fail the test if it is not true within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
