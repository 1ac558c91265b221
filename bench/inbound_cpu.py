"""CPU of the bot's own path per inbound message, without the network or the models: the real
core (inbound handler, engine step, context facts, store, the dispatcher's store side) on a
store file prepared as `bench.hosting_bench` prepares one, a channel that only answers "sent",
and a fixed parse per text (the live mix: `bench.reply_bench.TEXTS` read as the model reads
them, near enough). 50 customers write in turn, each message handled and its reply sent.

It prints the thread's CPU per message (`time.thread_time`: other processes on the machine
move it little, unlike msg/s) and the SQL statements per message; `--profile` adds a cProfile.

    python -m bench.inbound_cpu [--messages 3000] [--repeat 3] [--profile] [--top 40]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import itertools
import os
import pstats
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional, Sequence

from bench.hosting_bench import CONFIG, FIRST_CHAT, prepare_store
from bench.reply_bench import TEXTS
from bot.base.clock import SimClock
from bot.base.events import InboundEvent, InboundKind, OutboundMessage, SendResult, SendStatus
from bot.base.parse import Parse
from bot.config.loading import load_settings
from bot.live.core import build_core
from bot.plugins.manager import Plugins
from bot.store.store import Store

THANKS = {"thanks", "thank you so much", "lovely", "great stuff", "cool", "sounds good", "sure thing", "all good here"}


class TextParser:
    """The reply bench's texts as the model reads them, near enough: thanks-like ones as
    `thanks`, the rest as not understood."""

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        if text in THANKS:
            return Parse(text=text, intent="thanks", confidence=0.95)
        return Parse(text=text, intent="nlu_fallback", confidence=0.3)

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        return self.parse(text, language)


class SentChannel:
    """A channel that answers every send with "sent" and a fresh message id."""

    def __init__(self) -> None:
        self.sent = 0
        self._ids = itertools.count(1)

    async def start(self, on_event, on_agent_action=None) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent += 1
        return SendResult(SendStatus.SENT, platform_message_id=str(next(self._ids)))

    async def mark_chosen(self, choice) -> None:
        pass


async def _round(folder: Path, messages: int, profile: Optional[cProfile.Profile]) -> tuple[float, float, int]:
    """(CPU ms per message, SQL statements per message, replies sent) for one fresh store."""
    db = folder / f"shop-{time.monotonic_ns()}.db"
    prepare_store(db, 50)
    settings = load_settings(CONFIG, environ={})
    store = Store.open(db)
    clock = SimClock(datetime.now(timezone.utc))
    channel = SentChannel()
    plugins = Plugins.load()
    core = build_core(settings, store, TextParser(), clock, {"telegram": channel}, limits={}, plugins=plugins)
    chats = [str(FIRST_CHAT + n) for n in range(50)]
    events = itertools.count(1)

    async def one(address: str) -> None:
        event = InboundEvent("telegram", f"u{next(events)}", address, InboundKind.TEXT, clock.now(),
                             text=random.choice(TEXTS), language_code="en")
        await core.on_event(event)
        await core.dispatcher.run_once()
        clock.set(clock.now() + timedelta(milliseconds=20))

    for address in chats[:10]:                        # warm: not counted
        await one(address)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    sent0 = channel.sent
    if profile:
        profile.enable()
    cpu0 = time.thread_time()
    for n in range(messages):
        await one(chats[n % len(chats)])
    cpu = time.thread_time() - cpu0
    if profile:
        profile.disable()
    store.db.conn.set_trace_callback(None)
    store.close()
    return cpu * 1000 / messages, len(statements) / messages, channel.sent - sent0


async def _run(args: argparse.Namespace) -> None:
    profile = cProfile.Profile(time.thread_time) if args.profile else None   # CPU, not wall time
    cpus: list[float] = []
    with tempfile.TemporaryDirectory(prefix="inbound-cpu.") as folder:
        for _ in range(args.repeat):
            cpu, statements, sent = await _round(Path(folder), args.messages, profile)
            cpus.append(cpu)
            print(f"  {cpu:.2f} ms CPU per message, {statements:.1f} SQL statements, {sent / args.messages:.2f} replies "
                  f"per message (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"inbound path (handle + engine + store + the dispatcher's send), {args.messages} messages x {args.repeat}: "
          f"median {statistics.median(cpus):.2f} ms CPU per message{' (profiled)' if profile else ''}")
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        if args.dump:
            profile.dump_stats(args.dump)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="inbound_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="with --profile: also write the profile to this file")
    random.seed(27)
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
