"""Fixtures for the Slack adapter tests: the loopback Slack and a started SlackChannel whose
inbound events and agent actions land in a recorder."""
import asyncio

import pytest

from bot.channels.slack import SlackChannel


class Recorder:
    """Collects what the adapter hands to the app."""

    def __init__(self) -> None:
        self.events: list = []
        self.actions: list = []

    async def on_event(self, event) -> None:
        self.events.append(event)

    async def on_agent_action(self, action) -> None:
        self.actions.append(action)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def slack(sandbox, recorder, clock):
    channel = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                           base_url=sandbox.base_url, clock=clock)
    await channel.start(recorder.on_event, recorder.on_agent_action)
    sandbox.events_url = channel.events_url
    yield channel
    await channel.stop()


@pytest.fixture
def settle(sandbox, slack):
    """Wait until the sandbox's and the adapter's background work is done."""
    async def _settle() -> None:
        await sandbox.idle()
        await slack.idle()
        await asyncio.sleep(0)
    return _settle
