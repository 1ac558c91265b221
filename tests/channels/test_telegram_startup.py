"""What the real bot's start costs on the Telegram side: one client (the one the start-up
check used is the one that runs, so the Bot API sees one getMe), no CA bundle read for a
loopback http:// Bot API, and no sandbox platform code loaded."""
from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys

import pytest

from bot.channels import telegram
from bot.live.app import run_app
from bot.plugins.manager import Plugins
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store
from tests.support.harness import make_settings
from tests.support.table_parser import TableParser
from tests.support.waiting import until

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def no_process_tuning(monkeypatch):
    """run_app tunes the process (gc.freeze, the switch interval): not the test runner's."""
    monkeypatch.setattr("gc.freeze", lambda: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda interval: None)


async def test_the_real_bot_builds_one_telegram_client_and_asks_getme_once(tmp_path, monkeypatch, no_process_tuning):
    built: list = []
    original = telegram.TelegramChannel.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(telegram.TelegramChannel, "__init__", counting)
    async with TelegramSandbox() as api:
        await api.add_user(4242)
        settings = make_settings(channels={"telegram": {"token": api.token, "api_url": api.url},
                                           "slack": {"enabled": False}},
                                 store={"path": str(tmp_path / "live.db")}, server={"port": 0})
        stop = asyncio.Event()

        async def no_sandbox() -> int:
            raise AssertionError("the real bot was meant to run")

        bot = asyncio.create_task(run_app(settings, lambda s: Store.open(tmp_path / "live.db"),
                                          lambda s: TableParser(), sandbox=no_sandbox,
                                          plugins=Plugins.load(), stop=stop))
        try:
            await until(lambda: api.method_counts["getupdates"] > 0 or bot.done())
            await api.user_sends(4242, "hello, who is this?")
            await until(lambda: api.messages_to(4242) or bot.done())
            assert not bot.done(), bot.exception()
        finally:
            stop.set()
            code = await bot
    assert code == 0
    assert len(built) == 1
    assert api.method_counts["getme"] == 1


async def test_a_loopback_bot_api_reads_no_ca_bundle(monkeypatch):
    loads: list = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(args or kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    async with TelegramSandbox() as api:
        await api.add_user(4242)
        channel = telegram.TelegramChannel(api.token, base_url=api.url, poll_timeout=1)
        received: list = []

        async def on_event(event) -> None:
            received.append(event)

        await channel.start(on_event)
        try:
            await api.user_sends(4242, "hello")
            await until(lambda: received)
            sent = await channel.send(telegram.OutboundMessage(channel="telegram", address="4242", text="hi"))
            assert sent.status is telegram.SendStatus.SENT
        finally:
            await channel.stop()
    assert loads == []


def test_the_live_bot_loads_no_sandbox_platform():
    """`aftercare run`'s imports with credentials set (the CLI, its run command, the app, the
    plugins and the Telegram adapter): the loopback servers' code is the sandbox's alone."""
    code = ("import sys, bot.cli, bot.cli.run, bot.live.app, bot.channels.telegram\n"
            "from bot.plugins.manager import Plugins\n"
            "Plugins.load().channels()\n"
            "print(sorted(m for m in sys.modules if m.startswith(('bot.sandbox.platforms.', 'bot.sandbox.demo'))"
            " and m != 'bot.sandbox.platforms.plugin'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


async def test_no_proxy_alone_sends_no_netrc_credentials_to_the_bot_api(tmp_path, monkeypatch):
    """NO_PROXY (set for every loopback run) names no proxy: the Bot API calls must not start
    reading the environment's proxy and ~/.netrc settings, which would send a netrc password for
    the host as an Authorization header (httpx, the client before, sent none either)."""
    from aiohttp import web

    from bot.channels.telegram_http import AiohttpRequest

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n", encoding="ascii")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    seen: list = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot1:x/getMe", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        assert await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe") is True
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert seen == [None]
