"""CPU of one send through the Telegram adapter: `TelegramChannel.send` (python-telegram-bot's
`Bot` over aiohttp, bot/channels/telegram*.py) against the loopback Bot API, which runs in a
child process so that its own CPU is not counted. Prints the thread's CPU per send
(`time.thread_time`) for a plain answer and for a question with five buttons, on asyncio's
loop and on the bot's (uvloop where installed: bot/live/eventloop.py).

    python -m bench.send_cpu [--sends 2000]

A shared machine moves these figures by tens of percent from run to run: compare two versions
in one sitting, alternating (docs/performance.md, session 25).
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from typing import Optional, Sequence

from bot.base.events import Button, OutboundMessage
from bot.channels.telegram import TelegramChannel
from bot.live import eventloop

TOKEN = "700000999:AAsendcpu-token-000000000000000000000"
CHAT = 1000
MESSAGES = (
    ("answer", OutboundMessage("telegram", str(CHAT), "Thanks for your message! If something's wrong with your "
                               "order, tell me what happened, or write 'agent' to reach a person.", ())),
    ("5 buttons", OutboundMessage("telegram", str(CHAT), "How would you rate it?",
                                  tuple(Button(str(n), f"csat:{n}") for n in range(1, 6)))),
)


async def _serve() -> None:
    from bot.sandbox.platforms.telegram_api import TelegramLimits, TelegramSandbox

    api = TelegramSandbox(token=TOKEN, limits=TelegramLimits.off())
    await api.start()
    await api.add_user(CHAT)
    print(api.url, flush=True)
    await asyncio.Event().wait()


async def _measure(url: str, sends: int) -> list[tuple[str, float]]:
    channel = TelegramChannel(TOKEN, base_url=url)
    await channel.connect_for_sending()
    figures = []
    try:
        for name, message in MESSAGES:
            for _ in range(50):                                  # warm: connections, caches
                await channel.send(message)
            started = time.thread_time()
            for _ in range(sends):
                result = await channel.send(message)
            figures.append((name, (time.thread_time() - started) / sends))
            if result.platform_message_id is None:
                raise SystemExit(f"the last send was not sent: {result}")
    finally:
        await channel.close_preflight()
    return figures


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="send_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)    # the child: the Bot API
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve())
        return
    server = subprocess.Popen([sys.executable, "-m", "bench.send_cpu", "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        url = (server.stdout.readline() if server.stdout else "").strip()
        for loop, run in (("asyncio", asyncio.run), ("the bot's loop", eventloop.run)):
            for name, cpu in run(_measure(url, args.sends)):
                print(f"{loop:15s} {name:10s} {cpu * 1000:.3f} ms of CPU a send")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
