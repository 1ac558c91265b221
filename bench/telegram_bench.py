"""Telegram send rate against the loopback Bot API's limits.

Sends check-ins through the real adapter (TelegramChannel -> python-telegram-bot -> HTTP) to
many private chats, paced the way the outbox dispatcher paces them (about 30/s per bot,
1/s per chat, on an absolute schedule so latency does not drift the rate), honouring
`retry_after` on a RETRY. Prints, as counted by the server:

- paced: the achieved rate as a fraction of the per-bot limit, 429s, lost and duplicated;
- burst: the same messages fired all at once, each retried after its `retry_after`: how many
  429s that costs, and that still none is lost or doubled;
- unpaced: the HTTP path's own throughput with the limits off (the headroom).

    python -m bench.telegram_bench [--chats 150] [--per-chat 3] [--rate 30]
"""
from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Optional, Sequence

from bot.channels.telegram import TelegramChannel
from bot.events import Button, OutboundMessage, SendStatus
from bot.sandbox.telegram_api import TelegramLimits, TelegramSandbox

BUTTONS = tuple(Button(str(n), f"csat:{n}") for n in range(1, 6))
FIRST_CHAT = 500_000
UNPACED_WORKERS = 8


@dataclass
class Figures:
    sent: int
    expected: int
    seconds: float
    server_rate: float     # accepted/s between the server's first and last accept
    too_many: int          # 429s the server answered
    retries: int           # RETRY results the sender saw (429s and network errors)
    lost: int
    duplicated: int


def _message(chat: int, n: int) -> OutboundMessage:
    return OutboundMessage("telegram", str(chat), f"Check-in #{n} for chat {chat}: how is it going?",
                           BUTTONS, proactive=True)


async def _paced(channel: TelegramChannel, chats: list[int], per_chat: int, rate: float,
                 chat_rate: float, counters: Counter) -> None:
    """One sender, as the dispatcher: the next ready chat, no faster than `rate` overall."""
    queues = {chat: deque(_message(chat, n) for n in range(per_chat)) for chat in chats}
    start = time.monotonic()
    ready = [(start, chat) for chat in chats]
    heapq.heapify(ready)
    slot = start
    while ready:
        ready_at, chat = heapq.heappop(ready)
        at = max(ready_at, slot)
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        slot = at + 1.0 / rate
        result = await channel.send(queues[chat][0])
        if result.status is SendStatus.SENT:
            queues[chat].popleft()
            next_at = at + 1.0 / chat_rate
        else:
            counters["retries"] += 1
            next_at = time.monotonic() + (result.retry_after or 0.05)
        if queues[chat]:
            heapq.heappush(ready, (next_at, chat))


async def _burst(channel: TelegramChannel, chats: list[int], per_chat: int,
                 counters: Counter) -> None:
    """Every chat at once, each message until SENT, waiting `retry_after` when told."""
    async def one_chat(chat: int) -> None:
        for n in range(per_chat):
            while True:
                result = await channel.send(_message(chat, n))
                if result.status is SendStatus.SENT:
                    break
                counters["retries"] += 1
                await asyncio.sleep(result.retry_after or 0.05)
    await asyncio.gather(*(one_chat(chat) for chat in chats))


async def _unpaced(channel: TelegramChannel, chats: list[int], per_chat: int,
                   workers: int) -> None:
    """As fast as `workers` concurrent senders go."""
    todo = deque(_message(c, n) for c in chats for n in range(per_chat))

    async def worker() -> None:
        while todo:
            await channel.send(todo.popleft())
    await asyncio.gather(*(worker() for _ in range(workers)))


async def run(chats: int, per_chat: int, rate: float, mode: str) -> Figures:
    """`mode`: paced (at `rate`), burst (no pacing, limits on) or unpaced (limits off)."""
    limits = TelegramLimits.off() if mode == "unpaced" else TelegramLimits(per_bot_per_second=rate,
                                                                          per_bot_burst=rate)
    async with TelegramSandbox(limits=limits) as sandbox:
        ids = [FIRST_CHAT + i for i in range(chats)]
        for chat in ids:
            await sandbox.add_user(chat, f"Customer {chat}")
        channel = TelegramChannel(sandbox.token, base_url=sandbox.url)
        await channel.connect_for_sending()   # getMe outside the timing; nobody writes back
        counters: Counter = Counter()
        started = time.monotonic()
        try:
            if mode == "paced":
                await _paced(channel, ids, per_chat, rate, limits.per_chat_per_second, counters)
            elif mode == "burst":
                await _burst(channel, ids, per_chat, counters)
            else:
                await _unpaced(channel, ids, per_chat, workers=UNPACED_WORKERS)
            seconds = time.monotonic() - started
        finally:
            await channel.stop()
        texts = Counter(m.text for chat in ids for m in sandbox.messages_to(chat))
        expected = {_message(c, n).text for c in ids for n in range(per_chat)}
        return Figures(
            sent=sum(texts.values()), expected=len(expected), seconds=seconds,
            server_rate=sandbox.stats.accepted_rate(), too_many=sandbox.stats.too_many_requests,
            retries=counters["retries"], lost=len(expected - set(texts)),
            duplicated=sum(count - 1 for count in texts.values() if count > 1),
        )


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the Telegram send rate against the loopback server's per-bot limit."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
    parser = argparse.ArgumentParser(prog="telegram_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=150, help="private chats sent to")
    parser.add_argument("--per-chat", type=int, default=3, help="check-ins per chat")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="server limit, messages/s per bot (Telegram's is about 30)")
    args = parser.parse_args(argv)

    paced = asyncio.run(run(args.chats, args.per_chat, args.rate, "paced"))
    per_chat = TelegramLimits().per_chat_per_second
    limit = min(args.rate, args.chats * per_chat)  # few chats: the 1/s per chat binds first
    binding = "per bot" if limit == args.rate else f"{args.chats} chats x {per_chat:.0f}/s"
    print(f"telegram paced: {paced.sent}/{paced.expected} messages to {args.chats} chats in "
          f"{paced.seconds:.2f} s: {paced.server_rate:.2f}/s at the server against a limit of "
          f"{limit:.0f}/s ({binding}): {paced.server_rate / limit:.3f} of the limit, "
          f"429s {paced.too_many}, retries {paced.retries}, "
          f"lost {paced.lost}, duplicated {paced.duplicated}")

    burst_chats = max(1, args.chats // 5)
    burst = asyncio.run(run(burst_chats, args.per_chat, args.rate, "burst"))
    print(f"telegram burst (no pacing, limits on): {burst.sent}/{burst.expected} messages to "
          f"{burst_chats} chats in {burst.seconds:.2f} s, 429s {burst.too_many}, all retried "
          f"after retry_after: lost {burst.lost}, duplicated {burst.duplicated}")

    raw = asyncio.run(run(args.chats, args.per_chat, args.rate, "unpaced"))
    print(f"telegram unpaced (server limits off, {UNPACED_WORKERS} senders): "
          f"{raw.sent}/{raw.expected} messages in "
          f"{raw.seconds:.2f} s: {raw.sent / raw.seconds:.0f}/s, "
          f"lost {raw.lost}, duplicated {raw.duplicated}")


if __name__ == "__main__":
    main()
