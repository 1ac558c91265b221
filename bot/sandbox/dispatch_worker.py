"""A dispatcher process on its own, for the crash test and benchmarks: sends an outbox held in
a SQLite file to a channel's (loopback) API with the product's live loop (`Dispatcher.run`)
and the shipped config's limits, until nothing is pending, then exits.

    python -m bot.sandbox.dispatch_worker DB_PATH BASE_URL TOKEN [CHANNEL]

CHANNEL is a sandbox platform's channel name (`bot.sandbox.platforms.registry`); the first
registered one when left out.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Mapping, Optional

from bot.base.clock import SystemClock
from bot.live.core import default_limits
from bot.live.outbox import Dispatcher, Limits
from bot.plugins.manager import Plugins
from bot.sandbox.platforms.registry import PlatformRegistry
from bot.store.store import Store

CONFIG = Path(__file__).resolve().parents[2] / "config.yml"
POLL = 0.2      # seconds between "anything left?" looks at the outbox


async def drain(db_path: str, base_url: str, token: str, kind: Optional[str] = None,
                limits: Optional[Mapping[str, Limits]] = None) -> dict:
    plugins = Plugins.load()            # a process of its own: it loads the plugins as the CLI does
    platforms = PlatformRegistry.of(plugins)
    kind = kind or platforms.names()[0]
    channel = platforms.require(kind).sender(base_url, token)
    store = Store.open(db_path)
    limits = limits if limits is not None else default_limits(plugins.load_settings(CONFIG, environ={}), plugins.channels())
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
    kind = sys.argv[4] if len(sys.argv) > 4 else None
    print(asyncio.run(drain(db_path, base_url, token, kind)), flush=True)


if __name__ == "__main__":
    main()
