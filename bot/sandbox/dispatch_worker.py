"""A dispatcher process on its own, for the crash test and benchmarks: sends an outbox held in
a SQLite file to a (loopback) Telegram Bot API or Slack Web API with the product's live loop
(`Dispatcher.run`) and the shipped config's limits, until nothing is pending, then exits.

    python -m bot.sandbox.dispatch_worker DB_PATH BASE_URL TOKEN [telegram|slack]
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Mapping, Optional

from bot.channels.base import Channel
from bot.clock import SystemClock
from bot.config import load_settings
from bot.core import default_limits
from bot.outbox import Dispatcher, Limits
from bot.store.store import Store

CONFIG = Path(__file__).resolve().parents[2] / "config.yml"
POLL = 0.2      # seconds between "anything left?" looks at the outbox


def _channel(kind: str, base_url: str, token: str) -> Channel:
    if kind == "slack":
        from bot.channels.slack import SlackChannel
        return SlackChannel(bot_token=token, signing_secret="", base_url=base_url)
    from bot.channels.telegram import TelegramChannel
    return TelegramChannel(token, base_url=base_url, mode="polling")


async def drain(db_path: str, base_url: str, token: str, kind: str = "telegram",
                limits: Optional[Mapping[str, Limits]] = None) -> dict:
    store = Store.open(db_path)
    channel = _channel(kind, base_url, token)
    limits = limits if limits is not None else default_limits(load_settings(CONFIG, environ={}))
    dispatcher = Dispatcher(store, {kind: channel}, SystemClock(), limits)
    dispatcher.reconcile()
    connect = getattr(channel, "connect_for_sending", None)
    if connect is not None:                 # a send-only process checks the token first
        await connect()
    stop = asyncio.Event()

    async def until_drained() -> None:
        while True:
            counts = store.outbox.counts()
            if not counts.get("pending") and not counts.get("sending"):
                stop.set()
                return
            await asyncio.sleep(POLL)

    watcher = asyncio.create_task(until_drained())
    try:
        await dispatcher.run(stop)
    finally:
        watcher.cancel()
        await channel.stop()
        store.close()
    return dict(dispatcher.stats)


def main() -> None:
    db_path, base_url, token = sys.argv[1:4]
    kind = sys.argv[4] if len(sys.argv) > 4 else "telegram"
    print(asyncio.run(drain(db_path, base_url, token, kind)), flush=True)


if __name__ == "__main__":
    main()
