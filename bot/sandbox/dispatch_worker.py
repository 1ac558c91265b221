"""A dispatcher process on its own, for the crash test and benchmarks: sends an outbox held in
a SQLite file to a (loopback) Telegram Bot API until nothing is pending, then exits.

    python -m bot.sandbox.dispatch_worker DB_PATH BASE_URL TOKEN
"""
from __future__ import annotations

import asyncio
import sys

from bot.channels.telegram import TelegramChannel
from bot.clock import SystemClock
from bot.outbox import Dispatcher, Limits
from bot.store.store import Store


async def drain(db_path: str, base_url: str, token: str, limits: Limits = Limits(per_address=1.0, per_channel=30.0)) -> dict:
    store = Store.open(db_path)
    channel = TelegramChannel(token, base_url=base_url, mode="polling")
    dispatcher = Dispatcher(store, {"telegram": channel}, SystemClock(), {"telegram": limits})
    dispatcher.reconcile()
    await channel.connect_for_sending()
    try:
        while store.outbox.counts().get("pending", 0):
            next_at = await dispatcher.run_once()
            if next_at is not None:
                delay = (next_at - dispatcher.clock.now()).total_seconds()
                await asyncio.sleep(max(0.0, min(delay, 0.5)))
    finally:
        await channel.stop()
    return dict(dispatcher.stats)


def main() -> None:
    db_path, base_url, token = sys.argv[1:4]
    print(asyncio.run(drain(db_path, base_url, token)), flush=True)


if __name__ == "__main__":
    main()
