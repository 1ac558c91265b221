"""Profile of the live inbound path, end to end, in one process: the real bot (`run_live`, the
real python-telegram-bot client, the real models) against the loopback Bot API with the
platform limits off, 50 customers back to back. Prints what the event loop's thread spends
its CPU on (cProfile of that thread only: the parses run in worker threads) and the SQL
statements per message (sqlite3's trace callback on the store's connection), grouped.

    python -m bench.inbound_profile [--seconds 15] [--top 30] [--sql-only]

`--sql-only` swaps the model for a fixed parse (no TensorFlow: seconds to start) to count
statements; the store path does not depend on what the model reads for these texts.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from bench.hosting_bench import FIRST_CHAT, Replies, prepare_store, proc_cpu, shop_config
from bench.reply_bench import TEXTS
from bot.base.clock import SystemClock
from bot.base.parse import Parse
from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox


class FixedParser:
    """Every text read as `greet` (the store path does not depend on the intent of TEXTS)."""

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        return Parse(text=text, intent="nlu_fallback", confidence=0.0)

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        return self.parse(text, language)


def _shape(sql: str) -> str:
    """A statement with its literals and runs of placeholders folded, for grouping."""
    sql = re.sub(r"'[^']*'", "'?'", " ".join(sql.split()))
    return re.sub(r"\b\d+\b", "N", sql)[:140]


async def _run(args: argparse.Namespace) -> None:
    from bot.live.app import run_live
    from bot.plugins.manager import Plugins
    from bot.store.store import Store

    folder = Path(tempfile.mkdtemp(prefix="inbound-profile."))
    db = folder / "shop.db"
    prepare_store(db, 200)
    replies = Replies()
    api = TelegramSandbox(token="700000999:AAprofile-token-00000000000000000000", on_send=replies.on_send,
                          limits=TelegramLimits.off())
    await api.start()
    for chat in range(FIRST_CHAT, FIRST_CHAT + 200):
        await api.add_user(chat)
    os.environ.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.url, AFTERCARE_DB=str(db))
    plugins = Plugins.load()
    config = shop_config(limits_off=True)
    try:                                                 # load_nlu reads the config file again
        settings = plugins.load_settings(config)
        if args.sql_only:
            parser: object = FixedParser()
        else:
            from bot.cli.common import load_nlu

            parser = await asyncio.to_thread(load_nlu, settings)
    finally:
        config.unlink()
    if not args.sql_only:
        await asyncio.to_thread(parser.wait_loaded)  # type: ignore[attr-defined]
    store = Store.open(db)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    stop = asyncio.Event()
    bot = asyncio.create_task(run_live(settings, store, parser, SystemClock(), stop=stop, health_port=0,  # type: ignore[arg-type]
                                       plugins=plugins))
    for n in range(5):                                   # warm: not counted
        await replies.say(api, FIRST_CHAT + 150 + n, "hello")
    statements.clear()
    # --cpu: the thread's CPU clock (a shared machine's wall clock counts other processes' turns)
    profile = cProfile.Profile(time.thread_time) if args.cpu else cProfile.Profile()
    chats = list(range(FIRST_CHAT, FIRST_CHAT + 50))
    answered = 0
    end = time.monotonic() + args.seconds
    cpu0, wall0 = proc_cpu(os.getpid()), time.monotonic()

    async def customer(chat: int) -> None:
        nonlocal answered
        while time.monotonic() < end:
            if await replies.say(api, chat, random.choice(TEXTS), 30) is not None:
                answered += 1

    if not args.bare:
        profile.enable()
    await asyncio.gather(*(customer(chat) for chat in chats))
    profile.disable()
    cpu, wall = proc_cpu(os.getpid()) - cpu0, time.monotonic() - wall0
    stop.set()
    await bot
    await api.stop()
    print(f"{answered} replies in {wall:.1f} s ({answered / wall:.1f} msg/s), process CPU {cpu * 1000 / max(1, answered):.1f}"
          f" ms per message (bot + Bot API + customers), load {os.getloadavg()[0]:.1f}")
    sends = sum(len(replies.sent[chat]) for chat in chats)
    print(f"{sends} messages sent to the customers ({sends / max(1, answered):.2f} per message); "
          f"first chat's: {replies.sent[chats[0]][:4]}")
    print(f"SQL statements: {len(statements)} ({len(statements) / max(1, answered):.1f} per message)")
    for shape, count in Counter(_shape(s) for s in statements).most_common(args.top):
        print(f"  {count / max(1, answered):6.2f}  {shape}")
    if not args.sql_only or args.profile:
        if args.dump:
            profile.dump_stats(args.dump)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="inbound_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--sql-only", action="store_true", help="a fixed parse instead of the models")
    parser.add_argument("--profile", action="store_true", help="with --sql-only: print the profile too")
    parser.add_argument("--dump", help="also write the profile to this file (pstats format)")
    parser.add_argument("--cpu", action="store_true", help="profile on the thread's CPU clock, not the wall clock")
    parser.add_argument("--bare", action="store_true", help="no cProfile (for a sampling profiler outside)")
    random.seed(27)
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
