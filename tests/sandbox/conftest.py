"""Fixtures for the loopback Slack server tests: a started sandbox on a fake clock."""
import os

import pytest

from bot.sandbox.slack_api import SlackSandbox

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(clock):
    sb = SlackSandbox(clock=clock)
    await sb.start()
    yield sb
    await sb.stop()
