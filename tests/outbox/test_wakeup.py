"""A reply goes out when it is committed, not when a timer next fires: the outbox commit wakes
the dispatcher. Every loop here sleeps far longer than the test waits, so without the wake-up
nothing is sent and these fail."""
from __future__ import annotations

import asyncio

from bot.channels.registry import section
from bot.live.app import run_live, serve
from bot.base.clock import SystemClock
from bot.live.core import default_limits
from bot.base.events import InboundKind
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store
from tests.support.harness import Harness, make_settings
from tests.support.table_parser import TableParser

PATIENCE = 10.0      # seconds a test waits; every idle timer below is longer


async def eventually(check, timeout: float = PATIENCE) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "nothing was sent: the dispatcher was never woken"
        await asyncio.sleep(0.01)


async def test_a_committed_reply_wakes_the_serve_loop():
    h = Harness(limits=default_limits(make_settings()))
    stop = asyncio.Event()
    loop = asyncio.create_task(serve(h.core, stop, idle_sleep=3600))
    try:
        await asyncio.sleep(0.05)                     # the loop is asleep now
        await h.core.on_event(h.event(InboundKind.TEXT, "777", text="hello?"))
        await eventually(lambda: h.texts("777"))
    finally:
        stop.set()
        await loop
    assert h.store.outbox.counts() == {"sent": 1}


async def test_nothing_is_signalled_before_the_commit():
    store = Store.memory()
    seen = []
    store.on_outbox_written(lambda: seen.append(store.outbox.counts()))
    with store.transaction():
        store.outbox.add("telegram", "1", None, None, "a", SystemClock().now())
        store.outbox.add("telegram", "1", None, None, "b", SystemClock().now())
        assert seen == []
    assert seen == [{"pending": 2}]                   # once, after the commit
    try:
        with store.transaction():
            store.outbox.add("telegram", "1", None, None, "c", SystemClock().now())
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert seen == [{"pending": 2}]                   # a rollback signals nothing


async def test_aftercare_run_with_a_token_and_api_url_answers_through_that_server(tmp_path):
    """The live wiring (`run_live`: real PTB polling, dispatcher, serve loop) against the
    loopback Bot API named by `channels.telegram.api_url`."""
    async with TelegramSandbox() as api:
        await api.add_user(4242)
        settings = make_settings(channels={"telegram": {"token": api.token, "api_url": api.url + "/"},
                                           "slack": {"enabled": False}},
                                 store={"path": str(tmp_path / "live.db")})
        assert section(settings, "telegram").api_url == api.url     # validated by its channel when read
        stop = asyncio.Event()
        store = Store.open(tmp_path / "live.db")
        live = asyncio.create_task(run_live(settings, store, TableParser(), SystemClock(), stop=stop,
                                            health_port=0))
        try:
            await eventually(lambda: api.method_counts["getupdates"] > 0 or live.done())
            await api.user_sends(4242, "hello, who is this?")
            await eventually(lambda: api.messages_to(4242) or live.done())
            assert not live.done(), live.exception()
        finally:
            stop.set()
            code = await live
    assert code == 0
    assert len(api.messages_to(4242)) == 1
