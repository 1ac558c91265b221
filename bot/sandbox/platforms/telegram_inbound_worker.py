"""A receiving bot process on its own, for the inbound crash drill: the real core on a SQLite
file and the real Telegram adapter, by polling or webhook, against a (loopback) Bot API. It
prints `ready` once it receives, and stops cleanly on SIGTERM (a drill kills it with SIGKILL).

    python -m bot.sandbox.platforms.telegram_inbound_worker DB_PATH BASE_URL TOKEN polling|webhook MODULE:PARSER

MODULE:PARSER names a class whose instances parse text (the drill passes a stand-in: what is
under test is receiving, not understanding, and a restart must not wait for a model).
"""
from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from pathlib import Path

from bot.channels.telegram import TelegramChannel
from bot.base.clock import SystemClock
from bot.config.loading import load_settings
from bot.live.core import build_core
from bot.nlu.base import Parser
from bot.store.store import Store

CONFIG = Path(__file__).resolve().parents[3] / "config.yml"
WEBHOOK_SECRET = "inbound-drill-secret"


def load_parser(spec: str) -> Parser:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)()


async def receive(db_path: str, base_url: str, token: str, mode: str, parser_spec: str) -> None:
    settings = load_settings(CONFIG, environ={})
    store = Store.open(db_path)
    channel = TelegramChannel(token, base_url=base_url, mode=mode, poll_timeout=1,
                              webhook_port=0, webhook_secret=WEBHOOK_SECRET)
    core = build_core(settings, store, load_parser(parser_spec), SystemClock(), {"telegram": channel},
                      limits={})
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await channel.start(core.on_event)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await channel.stop()
        store.close()


def main() -> None:
    asyncio.run(receive(*sys.argv[1:6]))


if __name__ == "__main__":
    main()
