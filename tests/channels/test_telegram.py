"""The Telegram adapter end to end: TelegramChannel -> python-telegram-bot -> HTTP -> the
loopback Bot API, and back as InboundEvents. Plus its pure helpers."""
from __future__ import annotations

import asyncio
import os
import socket
import time
import warnings
from datetime import datetime, timezone

import aiohttp
import pytest
from telegram import Update
from telegram.error import (
    BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut,
)

from bot.channels.telegram import (
    TelegramChannel, inline_keyboard, keyboard_rows, send_result_for, split_text, update_to_event,
)
from bot.base.events import Button, ChoiceMade, InboundKind, OutboundMessage, SendStatus
from bot.sandbox.platforms.telegram_api import TelegramSandbox

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

ANN, BOB = 2001, 2002
RATING = tuple(Button(str(n), f"csat:{n}") for n in range(1, 6))


class Inbox:
    """Collects what the adapter hands to the app (a CollectingOutputChannel in reverse)."""

    def __init__(self) -> None:
        self.events: list = []

    async def on_event(self, event) -> None:
        self.events.append(event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.events)} of {count} events arrived: {self.events}")
            await asyncio.sleep(0.01)
        return self.events


# `clock`, a FakeClock that moves only when told, comes from this folder's conftest.
@pytest.fixture
async def tg(clock):
    sandbox = TelegramSandbox(clock=clock)
    await sandbox.start()
    await sandbox.add_user(ANN, "Ann", "de", last_name="K")
    await sandbox.add_user(BOB, "Bob", "en")
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def channel(tg, inbox):
    ch = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await ch.start(inbox.on_event)
    yield ch
    await ch.stop()


def message(text: str, address: int = ANN, buttons: tuple = ()) -> OutboundMessage:
    return OutboundMessage(channel="telegram", address=str(address), text=text, buttons=buttons)


# ---- inbound --------------------------------------------------------------------------
async def test_text_becomes_a_text_event(channel, tg, inbox):
    sent = await tg.user_sends(ANN, "the strap broke after two days")
    [event] = await inbox.wait_for(1)
    assert event.kind is InboundKind.TEXT and event.text == "the strap broke after two days"
    assert event.channel == "telegram" and event.event_id == str(sent.update_id)
    assert event.address == str(ANN)
    assert (event.language_code, event.display_name) == ("de", "Ann K")
    assert event.at.tzinfo is not None
    assert channel.bot_username == "AftercareDemoBot"


async def test_commands_start_help_stop(channel, tg, inbox):
    await tg.user_sends(ANN, "/start AXc1lADVc37Vm-MtKYQGInwwOQ")
    await tg.user_sends(ANN, "/start")
    await tg.user_sends(ANN, "/help")
    await tg.user_sends(ANN, "/stop")
    await tg.user_sends(ANN, "/start@SomeOtherBot x")
    await tg.user_sends(ANN, "/start@AftercareDemoBot tok")
    events = await inbox.wait_for(6)
    assert [e.kind for e in events] == [InboundKind.START, InboundKind.START, InboundKind.HELP,
                                        InboundKind.STOP, InboundKind.TEXT, InboundKind.START]
    assert events[0].start_payload == "AXc1lADVc37Vm-MtKYQGInwwOQ"
    assert events[1].start_payload is None
    assert events[5].start_payload == "tok"


async def test_tap_is_answered_then_becomes_a_button_event(channel, tg, inbox):
    result = await channel.send(message("How do you like it?", buttons=RATING))
    tap = await tg.user_taps(ANN, int(result.platform_message_id), "csat:5")
    [event] = await inbox.wait_for(1)
    assert event.kind is InboundKind.BUTTON and event.button_value == "csat:5"
    assert event.reply_to == result.platform_message_id and event.text == ""
    assert event.event_id == str(tap.update_id)
    assert tg.callback_answer(tap.callback_query_id) is not None


async def test_photo_keeps_the_largest_file_id_and_caption(channel, tg, inbox):
    photo = await tg.user_sends_photo(ANN, caption="the box arrived crushed")
    [event] = await inbox.wait_for(1)
    assert event.kind is InboundKind.MEDIA and event.media_type == "photo"
    assert event.photo_ids == (photo.file_id,) and event.text == "the box arrived crushed"


async def test_other_media_is_named(channel, tg, inbox):
    for kind in ("sticker", "voice", "video", "video_note", "audio", "animation", "document"):
        await tg.user_sends_media(ANN, kind)
    events = await inbox.wait_for(7)
    assert all(e.kind is InboundKind.MEDIA and e.photo_ids == () for e in events)
    assert [e.media_type for e in events] == ["sticker", "voice", "video", "video_note",
                                              "audio", "animation", "document"]


async def test_duplicated_update_reaches_the_app_twice_with_one_event_id(channel, tg, inbox):
    sent = await tg.user_sends(ANN, "5/5")
    await inbox.wait_for(1)
    await tg.redeliver(sent.update_id)
    first, second = await inbox.wait_for(2)
    assert first.event_id == second.event_id == str(sent.update_id)
    assert first.text == second.text == "5/5"
    await tg.user_sends(ANN, "after the duplicate")
    events = await inbox.wait_for(3)
    assert events[2].text == "after the duplicate" and len(events) == 3


async def test_stop_hands_over_everything_already_fetched(tg, inbox):
    ch = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1)
    await ch.start(inbox.on_event)
    for index in range(20):
        await tg.user_sends(ANN if index % 2 else BOB, f"msg {index}")
    await inbox.wait_for(1)
    await ch.stop()
    fetched = len(inbox.events)
    texts = [e.text for e in inbox.events]
    # the oldest `fetched` updates, each chat's in order (chats are handled side by side)
    assert sorted(texts, key=lambda t: int(t.split()[1])) == [f"msg {i}" for i in range(fetched)]
    for chat in (ANN, BOB):
        mine = [e.text for e in inbox.events if e.address == str(chat)]
        assert mine == sorted(mine, key=lambda t: int(t.split()[1]))
    # What was not fetched before the stop is still waiting at Telegram for the next start.
    assert tg.queue.pending_count == 20 - fetched


# ---- outbound -------------------------------------------------------------------------
async def test_buttons_become_an_inline_keyboard(channel, tg):
    result = await channel.send(message("How do you like it?", buttons=RATING))
    assert result.status is SendStatus.SENT
    [shown] = tg.messages_to(ANN)
    assert str(shown.message_id) == result.platform_message_id
    assert shown.buttons == (tuple((str(n), f"csat:{n}") for n in range(1, 6)),)


async def test_a_send_warns_nothing_and_keeps_the_answers_message_id(channel, tg):
    """sendMessage goes through PTB's do_api_request (no telegram.Message built from the
    answer): PTB's hint to use send_message must stay silent, and the id is the answer's."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)     # what pytest does; ours stays
        first = await channel.send(message("One"))
        second = await channel.send(message("Two", buttons=RATING))
    assert [w for w in caught if "send_message" in str(w.message)] == []
    assert [first.platform_message_id, second.platform_message_id] == [str(m.message_id) for m in tg.messages_to(ANN)]
    assert first.platform_message_id != second.platform_message_id


async def test_an_answer_without_a_message_id_is_a_failure_not_a_crash(channel, tg, monkeypatch):
    async def no_id(*args, **kwargs):
        return True                     # what a Bot API answers for an edit, not for a send
    monkeypatch.setattr(type(channel._bot), "do_api_request", no_id)      # a Bot is frozen
    result = await channel.send(message("Hello"))
    assert result.status is SendStatus.FAILED and "message_id" in result.error


async def test_text_is_plain_so_markup_from_data_is_shown_verbatim(channel, tg):
    text = "Hi <b>Ann</b> *bold* _x_ [link](http://evil.example) &amp; `code`"
    await channel.send(message(text))
    [shown] = tg.messages_to(ANN)
    assert shown.text == text and shown.parse_mode is None


async def test_nps_scale_is_laid_out_in_balanced_rows(channel, tg):
    nps = tuple(Button(str(n), f"nps:{n}") for n in range(11))
    await channel.send(message("How likely are you to recommend us?", buttons=nps))
    assert [len(row) for row in tg.messages_to(ANN)[0].buttons] == [4, 4, 3]


async def test_callback_data_over_64_bytes_fails_without_a_call(channel, tg):
    result = await channel.send(message("Q", buttons=(Button("A", "x" * 65),)))
    assert result.status is SendStatus.FAILED and "64" in result.error
    assert tg.messages_to(ANN) == [] and tg.method_counts["sendmessage"] == 0


async def test_5000_characters_go_as_two_messages_buttons_on_the_last(channel, tg):
    words = ("lorem ipsum dolor sit amet " * 200)[:5000]
    result = await channel.send(message(words, buttons=RATING))
    assert result.status is SendStatus.SENT
    first, second = tg.messages_to(ANN)
    assert result.platform_message_id == str(second.message_id)
    assert first.buttons == () and second.buttons != ()
    assert len(first.text) <= 4096 and not first.text.endswith(" ")
    assert f"{first.text} {second.text}" == words.rstrip()


async def test_mark_chosen_edits_the_question_and_drops_the_keyboard(channel, tg):
    result = await channel.send(message("How do you like it?", buttons=RATING))
    choice = ChoiceMade("telegram", str(ANN), result.platform_message_id,
                        "How do you like it?", "5")
    await channel.mark_chosen(choice)
    [shown] = tg.messages_to(ANN)
    assert shown.text == "How do you like it?\n\n✔ 5" and shown.buttons == ()
    await channel.mark_chosen(choice)  # "message is not modified" is ignored
    assert tg.messages_to(ANN)[0].text == "How do you like it?\n\n✔ 5"


async def test_double_tap_on_an_old_keyboard_reaches_the_app_as_two_taps(channel, tg, inbox):
    result = await channel.send(message("How do you like it?", buttons=RATING))
    message_id = int(result.platform_message_id)
    first = await tg.user_taps(ANN, message_id, "csat:4")
    second = await tg.user_taps(ANN, message_id, "csat:2")  # before the edit reached the client
    events = await inbox.wait_for(2)
    assert [e.reply_to for e in events] == [result.platform_message_id] * 2
    assert tg.callback_answer(first.callback_query_id) and tg.callback_answer(second.callback_query_id)
    await channel.mark_chosen(ChoiceMade("telegram", str(ANN), result.platform_message_id,
                                         "How do you like it?", "4"))
    with pytest.raises(ValueError):  # no keyboard left to tap
        await tg.user_taps(ANN, message_id, "csat:1")


async def test_blocked_user_is_unreachable(channel, tg):
    await tg.block(ANN)
    result = await channel.send(message("Still there?"))
    assert result.status is SendStatus.UNREACHABLE and "blocked" in result.error


async def test_unknown_chat_is_unreachable(channel):
    result = await channel.send(message("hello", address=987654))
    assert result.status is SendStatus.UNREACHABLE


async def test_429_is_retry_with_retry_after(channel, tg, clock):
    results = [await channel.send(message(f"m{i}")) for i in range(4)]
    assert [r.status for r in results] == [SendStatus.SENT] * 3 + [SendStatus.RETRY]
    assert results[3].retry_after == 1.0
    clock.advance(1)
    assert (await channel.send(message("m3"))).status is SendStatus.SENT
    assert [m.text for m in tg.messages_to(ANN)] == ["m0", "m1", "m2", "m3"]


async def test_429_burst_is_all_delivered_none_twice(channel, tg, clock):
    pending = [message(f"burst {i}", address=ANN if i % 2 else BOB) for i in range(12)]
    too_many = 0
    while pending:
        waits = []
        for msg in list(pending):
            result = await channel.send(msg)
            if result.status is SendStatus.SENT:
                pending.remove(msg)
            else:
                assert result.status is SendStatus.RETRY and result.retry_after >= 1
                too_many += 1
                waits.append(result.retry_after)
        if waits:
            clock.advance(min(waits))
    assert too_many == tg.stats.too_many_requests > 0
    texts = [m.text for chat in (ANN, BOB) for m in tg.messages_to(chat)]
    assert sorted(texts) == sorted(f"burst {i}" for i in range(12))


async def test_a_split_message_retried_after_429_sends_only_the_rest(channel, tg, clock):
    for index in range(2):
        await channel.send(message(f"filler {index}"))
    long_text = "word " * 1000
    first = await channel.send(message(long_text))
    assert first.status is SendStatus.RETRY
    assert len(tg.messages_to(ANN)) == 3  # the first part went out
    clock.advance(1)
    second = await channel.send(message(long_text))
    assert second.status is SendStatus.SENT
    shown = tg.messages_to(ANN)
    assert len(shown) == 4 and second.platform_message_id == str(shown[-1].message_id)


async def test_server_errors_are_retry_with_no_wait(channel, tg):
    tg.fail_next("sendMessage", 502)
    tg.fail_next("sendMessage", 500)
    for _ in range(2):
        result = await channel.send(message("hello"))
        assert result.status is SendStatus.RETRY and result.retry_after == 0
    assert (await channel.send(message("hello"))).status is SendStatus.SENT


async def test_other_bad_requests_fail(channel):
    result = await channel.send(message(""))
    assert result.status is SendStatus.FAILED and "empty" in result.error


async def test_timeout_is_retry(tg, inbox):
    ch = TelegramChannel(tg.token, base_url=tg.url, poll_timeout=1, send_timeout=0.2)
    await ch.start(inbox.on_event)
    try:
        tg.fail_next("sendMessage", 0, delay=1.0)
        result = await ch.send(message("slow"))
        assert result.status is SendStatus.RETRY and "TimedOut" in result.error
    finally:
        await ch.stop()


# ---- webhook --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def webhook_channel(tg, inbox):
    port = free_port()
    ch = TelegramChannel(tg.token, base_url=tg.url, mode="webhook", webhook_port=port,
                         webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
                         webhook_secret="right-secret")
    await ch.start(inbox.on_event)
    yield ch, f"http://127.0.0.1:{port}/telegram/hook"
    await ch.stop()


async def test_webhook_mode_receives_updates_from_telegram(webhook_channel, tg, inbox):
    _, url = webhook_channel
    assert tg.webhook_url == url
    sent = await tg.user_sends(ANN, "via webhook")
    [event] = await inbox.wait_for(1)
    assert event.text == "via webhook" and event.event_id == str(sent.update_id)
    await tg.redeliver(sent.update_id)
    events = await inbox.wait_for(2)
    assert events[1].event_id == event.event_id


async def test_webhook_refuses_a_wrong_or_missing_secret(webhook_channel, tg, inbox):
    _, url = webhook_channel
    update = {"update_id": 7, "message": {"message_id": 1, "date": 1_700_000_000,
                                          "chat": {"id": ANN, "type": "private"},
                                          "from": {"id": ANN, "is_bot": False, "first_name": "Eve"},
                                          "text": "forged"}}
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 403
        good = {"X-Telegram-Bot-Api-Secret-Token": "right-secret"}
        async with session.post(url, json=update, headers=good) as response:
            assert response.status == 200
    [event] = await inbox.wait_for(1)
    assert event.text == "forged" and event.event_id == "7"


def test_webhook_mode_needs_a_secret():
    with pytest.raises(ValueError, match="secret"):
        TelegramChannel("1:x", mode="webhook")


# ---- pure helpers ----------------------------------------------------------------------
def test_split_prefers_paragraphs_then_lines_then_words():
    text = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    assert split_text("short") == ["short"]
    unbroken = "x" * 9000
    assert [len(p) for p in split_text(unbroken)] == [4096, 4096, 808]
    emoji = "\U0001F600" * 3000  # 2 UTF-16 units each
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in split_text(emoji))
    assert "".join(split_text(emoji)) == emoji


def test_keyboard_rows():
    assert [len(r) for r in keyboard_rows(RATING)] == [5]
    long = tuple(Button(label, label) for label in ("It works well", "Not used yet", "Talk to a person"))
    assert [len(r) for r in keyboard_rows(long)] == [1, 1, 1]
    assert [len(r) for r in keyboard_rows((Button("Yes", "y"), Button("No", "n")))] == [2]
    assert inline_keyboard(()) is None
    with pytest.raises(ValueError):
        inline_keyboard((Button("empty", ""),))


@pytest.mark.parametrize("exc, status, retry_after", [
    (RetryAfter(7), SendStatus.RETRY, 7.0),
    (Forbidden("Forbidden: bot was blocked by the user"), SendStatus.UNREACHABLE, 0.0),
    (Forbidden("Forbidden: user is deactivated"), SendStatus.UNREACHABLE, 0.0),
    (BadRequest("Chat not found"), SendStatus.UNREACHABLE, 0.0),
    (BadRequest("Message is too long"), SendStatus.FAILED, 0.0),
    (TimedOut(), SendStatus.RETRY, 0.0),
    (NetworkError("Bad Gateway"), SendStatus.RETRY, 0.0),
    (ChatMigrated(-100123), SendStatus.FAILED, 0.0),
    (InvalidToken(), SendStatus.FAILED, 0.0),
    (RuntimeError("bug"), SendStatus.FAILED, 0.0),
])
def test_send_errors_translate(exc, status, retry_after):
    result = send_result_for(exc)
    assert (result.status, result.retry_after) == (status, retry_after)


def test_update_to_event_ignores_what_the_product_does_not_handle():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    chat = {"id": ANN, "type": "private"}
    person = {"id": ANN, "is_bot": False, "first_name": "Ann"}
    edited = Update.de_json({"update_id": 1, "edited_message": {
        "message_id": 1, "date": 1, "chat": chat, "from": person, "text": "x"}}, None)
    service = Update.de_json({"update_id": 2, "message": {
        "message_id": 2, "date": 1, "chat": chat, "from": person, "new_chat_title": "t"}}, None)
    from_bot = Update.de_json({"update_id": 3, "message": {
        "message_id": 3, "date": 1, "chat": chat, "text": "x",
        "from": {"id": 9, "is_bot": True, "first_name": "B"}}}, None)
    located = Update.de_json({"update_id": 4, "message": {
        "message_id": 4, "date": 1, "chat": chat, "from": person,
        "location": {"latitude": 1.0, "longitude": 2.0}}}, None)
    assert update_to_event(edited, at) is None
    assert update_to_event(service, at) is None
    assert update_to_event(from_bot, at) is None
    assert update_to_event(located, at).media_type == "location"


async def test_a_send_only_process_connects_without_polling(tg):
    ch = TelegramChannel(tg.token, base_url=tg.url)
    try:
        assert (await ch.send(message("first, connecting on the way"))).status is SendStatus.SENT
        await ch.connect_for_sending()
        assert (await ch.send(message("second"))).status is SendStatus.SENT
        assert tg.method_counts["getupdates"] == 0 and tg.method_counts["getme"] == 1
    finally:
        await ch.stop()
    assert ch.bot_username == "AftercareDemoBot"


async def test_webhook_refuses_a_secret_header_of_any_bytes_with_403_not_500(webhook_channel, tg, inbox):
    """#24 finding 5, on the Telegram route: a header that is not ASCII (or not even UTF-8) is a
    wrong secret, never an exception."""
    import asyncio
    from urllib.parse import urlsplit

    _, url = webhook_channel
    parts = urlsplit(url)
    body = b'{"update_id": 8}'
    for value in ("right-secret\u00e9".encode(), b"\xff\xfe", "²".encode(), b"right-secret\x80"):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"POST " + parts.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: " + value +
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        writer.close()
        assert status == 403, (value, status)
