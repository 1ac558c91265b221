"""The loopback Telegram Bot API, exercised with the real python-telegram-bot client over HTTP.

It must behave like Telegram where the product depends on it: flood limits answered with
429 + retry_after, 403 after a block, 400 with Telegram's descriptions, long polling with
offset confirmation, webhook delivery with the secret header and retries.
"""
from __future__ import annotations

import asyncio
import json
import os
import time

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

ANN, BOB = 1001, 1002


async def _started(sandbox: TelegramSandbox) -> TelegramSandbox:
    await sandbox.start()
    await sandbox.add_user(ANN, "Ann", "de", username="ann_k")
    await sandbox.add_user(BOB, "Bob", "en")
    return sandbox


# `clock`, a FakeClock that moves only when told, comes from this folder's conftest.
@pytest.fixture
async def tg(clock):
    sandbox = await _started(TelegramSandbox(clock=clock, webhook_retry_base=0.01))
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def bot(tg):
    async with Bot(tg.token, base_url=tg.api_base_url, base_file_url=tg.file_base_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in pairs]])


# ---- identity and errors -------------------------------------------------------------
async def test_get_me_names_the_bot(bot):
    assert bot.username == "AftercareDemoBot"
    assert (await bot.get_me()).is_bot


async def test_wrong_token_is_refused(tg):
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=tg.api_base_url):
            pass


async def test_unknown_chat_is_400_chat_not_found(bot):
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(4242, "hello")


async def test_message_over_4096_characters_is_too_long(bot, tg):
    await bot.send_message(ANN, "x" * 4096)
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(ANN, "x" * 4097)
    assert len(tg.messages_to(ANN)) == 1


async def test_callback_data_over_64_bytes_is_button_data_invalid(bot):
    await bot.send_message(ANN, "ok", reply_markup=keyboard(("A", "a" * 64)))
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(ANN, "no", reply_markup=keyboard(("A", "é" * 33)))


async def test_blocked_user_gets_403_from_then_on(bot, tg):
    await bot.send_message(ANN, "before")
    await tg.block(ANN)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(ANN, "after")
    assert [m.text for m in tg.messages_to(ANN)] == ["before"]


async def test_username_works_as_chat_id(bot, tg):
    await bot.send_message("@ann_k", "by name")
    assert tg.messages_to(ANN)[0].text == "by name"


async def test_error_bodies_have_the_bot_api_shape(tg):
    url = f"{tg.api_base_url}{tg.token}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"chat_id": 555, "text": "x"}) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        for _ in range(3):
            async with session.post(url, json={"chat_id": ANN, "text": "x"}) as response:
                assert response.status == 200
        async with session.post(url, json={"chat_id": ANN, "text": "x"}) as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False, "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1}}
        async with session.post(f"{tg.api_base_url}bad:token/getMe") as response:
            assert response.status == 401


async def test_json_body_with_native_markup_is_accepted(tg):
    url = f"{tg.api_base_url}{tg.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"chat_id": ANN, "text": "Q?", "reply_markup": markup}) as r:
            body = await r.json()
    assert body["ok"] and body["result"]["reply_markup"] == markup
    assert tg.messages_to(ANN)[0].buttons == ((("Yes", "yes"),),)


# ---- flood limits --------------------------------------------------------------------
async def test_per_chat_burst_then_429_with_retry_after(bot, tg, clock):
    for index in range(3):  # the burst allowance
        await bot.send_message(ANN, f"m{index}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ANN, "one too many")
    assert caught.value._retry_after.total_seconds() == 1
    await bot.send_message(BOB, "another chat is not affected")
    clock.advance(1.0)
    await bot.send_message(ANN, "after waiting")
    assert tg.stats.too_many_requests == 1
    assert tg.stats.accepted == 5
    assert tg.stats.per_chat[ANN] == 4


async def test_per_bot_limit_of_30_per_second(clock):
    limits = TelegramLimits(per_bot_per_second=30, per_bot_burst=30)
    async with TelegramSandbox(clock=clock, limits=limits) as tg:
        for chat in range(1, 32):
            await tg.add_user(chat)
        async with Bot(tg.token, base_url=tg.api_base_url) as bot:
            for chat in range(1, 31):
                await bot.send_message(chat, "hi")
            with pytest.raises(RetryAfter):
                await bot.send_message(31, "hi")
            clock.advance(1 / 30)
            await bot.send_message(31, "hi")
        assert (tg.stats.accepted, tg.stats.too_many_requests) == (31, 1)


async def test_group_limit_of_20_per_minute(tg, bot, clock):
    await tg.add_group(-500, "Team")
    for index in range(20):
        await bot.send_message(-500, f"g{index}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(-500, "g20")
    assert caught.value._retry_after.total_seconds() == 3  # one token per 3 s
    clock.advance(3)
    await bot.send_message(-500, "g20")


async def test_limits_can_be_switched_off(clock):
    async with TelegramSandbox(clock=clock, limits=TelegramLimits.off()) as tg:
        await tg.add_user(ANN)
        async with Bot(tg.token, base_url=tg.api_base_url) as bot:
            for index in range(50):
                await bot.send_message(ANN, str(index))
        assert tg.stats.too_many_requests == 0 and tg.stats.accepted == 50


# ---- edits and callback queries -------------------------------------------------------
async def test_edit_text_without_markup_removes_the_keyboard(bot, tg):
    sent = await bot.send_message(ANN, "Rate it", reply_markup=keyboard(("1", "r1"), ("5", "r5")))
    await bot.edit_message_text("Rate it\n\n✔ 5", chat_id=ANN, message_id=sent.message_id)
    [shown] = tg.messages_to(ANN)
    assert shown.text == "Rate it\n\n✔ 5" and shown.buttons == () and shown.edited
    assert shown.history == ("Rate it",)


async def test_identical_edit_is_message_not_modified(bot):
    sent = await bot.send_message(ANN, "same")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("same", chat_id=ANN, message_id=sent.message_id)


async def test_edit_reply_markup_and_unknown_message(bot, tg):
    sent = await bot.send_message(ANN, "Q", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_reply_markup(chat_id=ANN, message_id=sent.message_id)
    assert tg.messages_to(ANN)[0].buttons == ()
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=ANN, message_id=999)


async def test_callback_answered_once_then_too_old(bot, tg, clock):
    sent = await bot.send_message(ANN, "Q", reply_markup=keyboard(("A", "a"), ("B", "b")))
    first = await tg.user_taps(ANN, sent.message_id, "a")
    late = await tg.user_taps(ANN, sent.message_id, "b")
    assert await bot.answer_callback_query(first.callback_query_id)
    assert tg.callback_answer(first.callback_query_id) == {"text": "", "show_alert": False}
    with pytest.raises(BadRequest, match="[Qq]uery is too old"):
        await bot.answer_callback_query(first.callback_query_id)
    clock.advance(16)
    with pytest.raises(BadRequest, match="[Qq]uery is too old"):
        await bot.answer_callback_query(late.callback_query_id)
    assert tg.callback_answer(late.callback_query_id) is None


async def test_taps_only_on_buttons_the_message_has(bot, tg):
    sent = await bot.send_message(ANN, "Q", reply_markup=keyboard(("A", "a")))
    with pytest.raises(ValueError):
        await tg.user_taps(ANN, sent.message_id, "zzz")
    await tg.user_taps(ANN, sent.message_id, "zzz", stale_ok=True)


# ---- long polling ----------------------------------------------------------------------
async def test_updates_return_until_confirmed_by_a_higher_offset(bot, tg):
    first = await tg.user_sends(ANN, "hello")
    second = await tg.user_sends(BOB, "hi")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first.update_id, second.update_id]
    assert [u.message.text for u in updates] == ["hello", "hi"]
    assert updates[0].message.from_user.language_code == "de"
    again = await bot.get_updates(offset=first.update_id, timeout=0)
    assert len(again) == 2  # offset == id does not confirm it
    rest = await bot.get_updates(offset=second.update_id, timeout=0)
    assert [u.update_id for u in rest] == [second.update_id]
    assert await bot.get_updates(offset=second.update_id + 1, timeout=0) == ()
    assert await bot.get_updates(timeout=0) == ()  # forgotten once confirmed


async def test_long_poll_waits_then_returns_on_arrival(bot, tg):
    async def later() -> None:
        await asyncio.sleep(0.2)
        await tg.user_sends(ANN, "arrived")
    started = time.monotonic()
    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["arrived"]
    assert 0.15 < time.monotonic() - started < 2


async def test_long_poll_times_out_empty(bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_second_poller_terminates_the_first_with_409(tg, bot):
    async with Bot(tg.token, base_url=tg.api_base_url) as other:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert await other.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await waiting


async def test_redelivered_update_keeps_its_id(bot, tg):
    sent = await tg.user_sends(ANN, "once")
    [update] = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    await tg.redeliver(sent.update_id)
    [again] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert again.update_id == update.update_id and again.message.text == "once"


async def test_start_command_carries_a_bot_command_entity(bot, tg):
    await tg.user_sends(ANN, "/start AXc1lADVc37Vm-MtKYQGInwwOQ")
    [update] = await bot.get_updates(timeout=0)
    [entity] = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)


async def test_media_updates_parse_with_ptb(bot, tg):
    photo = await tg.user_sends_photo(ANN, caption="broken lid")
    await tg.user_sends_sticker(ANN)
    await tg.user_sends_voice(ANN)
    await tg.user_sends_media(ANN, "document")
    await tg.inject_update({"edited_message": {
        "message_id": 77, "date": 0, "chat": {"id": ANN, "type": "private"}, "text": "raw"}})
    updates = await bot.get_updates(timeout=0)
    message = updates[0].message
    assert message.photo[-1].file_id == photo.file_id and message.caption == "broken lid"
    assert updates[1].message.sticker.emoji and updates[2].message.voice.duration
    assert updates[3].message.document.file_name == "receipt.pdf"
    assert updates[4].edited_message.text == "raw"


# ---- files ---------------------------------------------------------------------------
async def test_photo_upload_get_file_and_download(bot, tg):
    sent = await bot.send_photo(ANN, photo=b"\x89PNG fake", caption="label")
    assert tg.messages_to(ANN)[0].caption == "label"
    again = await bot.send_photo(BOB, photo=sent.photo[-1].file_id)
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    incoming = await tg.user_sends_photo(ANN)
    file = await bot.get_file(incoming.file_id)
    assert bytes(await file.download_as_bytearray()).startswith(b"\xff\xd8")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(ANN, photo="no-such-file")


# ---- webhook -------------------------------------------------------------------------
class Receiver:
    """A loopback webhook endpoint that fails the first `failures` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict, dict]] = []
        self.attempts = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500)
        self.received.append((dict(request.headers), json.loads(await request.read())))
        return web.Response(text="ok")


async def eventually(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_webhook_delivers_with_secret_header_and_blocks_polling(bot, tg):
    receiver = Receiver()
    url = await receiver.start()
    try:
        await bot.set_webhook(url, secret_token="s3cret_token")
        sent = await tg.user_sends(ANN, "via webhook")
        await eventually(lambda: receiver.received)
        headers, update = receiver.received[0]
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_token"
        assert headers["Content-Type"] == "application/json"
        assert update["update_id"] == sent.update_id and update["message"]["text"] == "via webhook"
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        await tg.redeliver(sent.update_id)
        await eventually(lambda: len(receiver.received) == 2)
        assert receiver.received[1][1]["update_id"] == sent.update_id
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await receiver.stop()


async def test_webhook_retries_failed_deliveries_with_backoff(bot, tg):
    receiver = Receiver(failures=2)
    url = await receiver.start()
    try:
        await bot.set_webhook(url)
        await tg.user_sends(ANN, "retry me")
        await eventually(lambda: receiver.received)
        assert receiver.attempts == 3
        assert tg.webhook_stats.failed_attempts == 2 and tg.webhook_stats.delivered == 1
        assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][0]
    finally:
        await receiver.stop()


async def test_webhook_gives_up_after_bounded_attempts(bot, tg):
    receiver = Receiver(failures=100)
    url = await receiver.start()
    try:
        await bot.set_webhook(url)
        lost = await tg.user_sends(ANN, "never lands")
        await tg.user_sends(ANN, "neither")
        await eventually(lambda: len(tg.webhook_stats.given_up) == 2)
        assert tg.webhook_stats.given_up[0] == lost.update_id
        assert receiver.attempts == 12  # 6 attempts each
    finally:
        await receiver.stop()


async def test_webhook_must_be_loopback(bot):
    with pytest.raises(BadRequest, match="loopback"):
        await bot.set_webhook("https://example.com/hook")


async def test_fractional_poll_timeout_is_accepted(bot):
    from datetime import timedelta
    assert await bot.get_updates(timeout=timedelta(seconds=0.2)) == ()
