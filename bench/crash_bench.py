"""Crash drills at full size: 10 x kill -9 during a 1,000-message dispatch with 100 ms of API
latency, and 10 x kill -9 while 1,000 customer updates arrive, by polling and by webhook.
Counted at the loopback Telegram server (see bot/sandbox/platforms/telegram_crash_drill.py).

    python -m bench crash [--messages 1000] [--updates 1000] [--kills 10] [--latency 0.1]
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bot.sandbox.platforms.telegram_crash_drill import inbound_drill, outbound_drill, summary


async def run(args: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        outbound = await outbound_drill(Path(tmp), messages=args.messages, chats=args.chats, kills=args.kills,
                                        latency=args.latency)
        inbound = [await inbound_drill(Path(tmp), mode=mode, updates=args.updates, kills=args.kills)
                   for mode in ("polling", "webhook")]
    return summary(outbound, *inbound)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args(argv)
    for line in asyncio.run(run(args)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
