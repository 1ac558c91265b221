"""The loopback Slack server on a fake clock, as pytest fixtures (`clock`, `sandbox`) for every
test folder that talks to it; tests/conftest.py registers them as a plugin."""
import os

import pytest

from bot.sandbox.platforms.slack_api import SlackSandbox

from tests.support.clocks import FakeClock

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
