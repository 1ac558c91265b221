"""Fixtures for the loopback Slack server tests: a started sandbox on a fake clock."""
import os

import pytest

from bot.sandbox.platforms.slack_api import SlackSandbox

from tests.support.clocks import FakeClock  # noqa: F401  (re-exported for the tests here)

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(clock):
    sb = SlackSandbox(clock=clock)
    await sb.start()
    yield sb
    await sb.stop()
