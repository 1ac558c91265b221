"""An update is confirmed to Telegram only after the app has handled it, by polling and by
webhook; a malformed update or a failing handler never blocks the updates behind it."""
from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
import pytest

from bot.channels.telegram import TelegramChannel
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from tests.support.waiting import until

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

ANN = 2001


class SlowApp:
    """An app whose handler waits until the test lets it finish (a commit in progress)."""

    def __init__(self) -> None:
        self.started: list = []
        self.done: list = []
        self.release = asyncio.Event()
        self.fail_on: set[str] = set()

    async def on_event(self, event) -> None:
        self.started.append(event)
        await self.release.wait()
        if event.text in self.fail_on:
            raise RuntimeError(f"boom on {event.text}")
        self.done.append(event)


@pytest.fixture
async def tg(clock):
    sandbox = TelegramSandbox(clock=clock)
    await sandbox.start()
    await sandbox.add_user(ANN, "Ann", "en")
    yield sandbox
    await sandbox.stop()


async def test_polling_confirms_an_update_only_after_the_app_handled_it(tg):
    app = SlowApp()
    channel = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await channel.start(app.on_event)
    try:
        await tg.user_sends(ANN, "first")
        await tg.user_sends(ANN, "second")
        await until(lambda: len(app.started) == 1)
        await asyncio.sleep(0.3)              # time enough for another getUpdates
        # Both still held by Telegram: a crash now gets them again, nothing is lost.
        assert tg.queue.pending_count == 2
        app.release.set()
        await until(lambda: len(app.done) == 2)
        await until(lambda: tg.queue.pending_count == 0)
    finally:
        await channel.stop()
    assert [e.text for e in app.done] == ["first", "second"]


async def test_a_restart_gets_the_unconfirmed_update_again(tg):
    """A process that died while handling: the next one receives the same update id."""
    app = SlowApp()
    first = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await first.start(app.on_event)
    sent = await tg.user_sends(ANN, "are you there?")
    await until(lambda: len(app.started) == 1)
    first._receiver._task.cancel()          # as good as a kill: nothing after this runs
    await asyncio.sleep(0)
    second_app = SlowApp()
    second_app.release.set()
    second = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await second.start(second_app.on_event)
    try:
        await until(lambda: len(second_app.done) == 1)
    finally:
        await second.stop()
    assert second_app.done[0].event_id == str(sent.update_id)


async def test_webhook_answers_200_only_after_the_app_handled_the_update(tg):
    app = SlowApp()
    channel = TelegramChannel(tg.token, base_url=tg.url, mode="webhook", webhook_port=0,
                              webhook_url=None, webhook_secret="s3cret")
    await channel.start(app.on_event)
    try:
        assert tg.webhook_url and tg.webhook_url.startswith("http://127.0.0.1:")
        await tg.user_sends(ANN, "via webhook")
        await until(lambda: len(app.started) == 1)
        await asyncio.sleep(0.2)
        assert tg.webhook_stats.delivered == 0 and tg.queue.pending_count == 1
        app.release.set()
        await until(lambda: tg.webhook_stats.delivered == 1)
        assert [e.text for e in app.done] == ["via webhook"]
    finally:
        await channel.stop()


async def test_malformed_updates_and_a_failing_handler_do_not_block_the_rest(tg, caplog):
    app = SlowApp()
    app.release.set()
    app.fail_on = {"explodes"}
    channel = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await channel.start(app.on_event)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.channels.telegram_updates"):
            bad = await tg.inject_update({"message": {"message_id": "x", "chat": "nope", "date": [],
                                                      "text": "my private diagnosis", "from": {"first_name": "Zed"}}})
            await tg.user_sends(ANN, "explodes")
            await tg.inject_update({"brand_new_update_kind": {"x": 1}})
            await tg.user_sends(ANN, "fine")
            await until(lambda: [e.text for e in app.done] == ["fine"])
            await until(lambda: tg.queue.pending_count == 0)
            stats = channel.inbound_stats
    finally:
        await channel.stop()
    assert stats == {"malformed": 1, "failed": 1, "ignored": 1, "handled": 1}
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert f"update {bad} is malformed" in messages
    assert "handling update" in messages and "failed" in messages
    assert "private diagnosis" not in messages and "Zed" not in messages      # ids, never customer text


async def test_webhook_refuses_a_body_that_is_not_json(tg, caplog):
    app = SlowApp()
    channel = TelegramChannel(tg.token, base_url=tg.url, mode="webhook", webhook_port=0,
                              webhook_url=None, webhook_secret="s3cret")
    await channel.start(app.on_event)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(tg.webhook_url, data=b"{not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}) as resp:
                assert resp.status == 400
            # an update without an integer update_id is logged by its shape, never its words
            async with session.post(tg.webhook_url, json={"update_id": "7", "message": {"text": "my private diagnosis"}},
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}) as resp:
                assert resp.status == 200
        assert channel.inbound_stats == {"malformed": 2}
    finally:
        await channel.stop()
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "without an integer update_id" in messages and "private diagnosis" not in messages


async def test_one_chats_slow_update_does_not_hold_up_another_chats(tg):
    """Updates fetched together are handled per chat: another chat's update goes on while one
    chat's is still being handled, each chat's stay in order, and nothing in the batch is
    confirmed until all of it is handled."""
    bob = 2002
    await tg.add_user(bob, "Bob", "en")
    gate = asyncio.Event()
    started, done = [], []

    async def app(event) -> None:
        started.append(event.text)
        if event.address == str(bob):
            await gate.wait()
        done.append(event.text)

    await tg.user_sends(bob, "bob 1")
    await tg.user_sends(bob, "bob 2")
    await tg.user_sends(ANN, "ann 1")        # all three wait for the first getUpdates
    channel = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await channel.start(app)
    try:
        await until(lambda: done == ["ann 1"])
        assert started == ["bob 1", "ann 1"]          # bob 2 waits for bob 1
        assert tg.queue.pending_count == 3            # the batch is not confirmed yet
        gate.set()
        await until(lambda: len(done) == 3)
        await until(lambda: tg.queue.pending_count == 0)
    finally:
        await channel.stop()
    assert done == ["ann 1", "bob 1", "bob 2"]
