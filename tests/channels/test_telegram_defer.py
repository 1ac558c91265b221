"""An update the app cannot take now (`DeliverLater`: the shared NLU service is down) is not
confirmed: polling fetches it again after a pause, its chat's later updates wait behind it,
other chats go on; a webhook answers 503 so Telegram delivers it again."""
from __future__ import annotations

import asyncio
import os

import pytest

from bot.channels.telegram import TelegramChannel
from bot.base.events import DeliverLater
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from tests.support.waiting import until

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

ANN, BOB = 3001, 3002


class FlakyApp:
    """Refuses every event while `down` is set (as the core does when the NLU is down)."""

    def __init__(self) -> None:
        self.down = True
        self.refused: list[str] = []
        self.done: list[str] = []

    async def on_event(self, event) -> None:
        if self.down and event.address == str(ANN):
            self.refused.append(event.text)
            raise DeliverLater("NLU down")
        self.done.append(event.text)


@pytest.fixture
async def tg(clock):
    sandbox = TelegramSandbox(clock=clock)
    await sandbox.start()
    await sandbox.add_user(ANN, "Ann", "en")
    await sandbox.add_user(BOB, "Bob", "en")
    yield sandbox
    await sandbox.stop()


async def test_polling_keeps_a_deferred_update_and_its_chats_later_ones_until_the_app_takes_them(tg):
    app = FlakyApp()
    await tg.user_sends(ANN, "ann 1")
    await tg.user_sends(BOB, "bob 1")
    await tg.user_sends(ANN, "ann 2")
    channel = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await channel.start(app.on_event)
    try:
        await until(lambda: len(app.refused) >= 2)        # fetched again after the pause
        assert app.done == ["bob 1"]                      # another chat goes on, handled once
        assert set(app.refused) == {"ann 1"}              # ann 2 waits behind ann 1, in order
        assert tg.queue.pending_count == 3                # nothing from Ann's first on is confirmed
        app.down = False
        await until(lambda: app.done.count("ann 2") == 1)
        await until(lambda: tg.queue.pending_count == 0)
        stats = channel.inbound_stats
    finally:
        await channel.stop()
    # Bob's update came again with Ann's (offset before hers) and was not handled twice
    assert app.done == ["bob 1", "ann 1", "ann 2"]
    assert stats["deferred"] >= 2 and stats["handled"] == 3


async def test_webhook_answers_503_for_a_deferred_update_and_takes_it_when_redelivered(tg):
    app = FlakyApp()
    channel = TelegramChannel(tg.token, base_url=tg.url, mode="webhook", webhook_port=0,
                              webhook_url=None, webhook_secret="s3cret")
    await channel.start(app.on_event)
    try:
        await tg.user_sends(ANN, "via webhook")
        await until(lambda: len(app.refused) >= 1)
        await asyncio.sleep(0.2)
        assert tg.webhook_stats.delivered == 0 and tg.queue.pending_count == 1
        app.down = False
        await until(lambda: app.done == ["via webhook"], timeout=20)
        await until(lambda: tg.queue.pending_count == 0)
    finally:
        await channel.stop()
