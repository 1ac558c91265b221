"""The product's send path at its platform limits: check-ins written to the SQLite outbox, sent
by the real `Dispatcher` (its live loop, in its own process: `bot.sandbox.dispatch_worker`)
through the real adapter to the loopback server, with latency added to every API call.
Counted at the server: rate as a fraction of the binding limit, 429s, lost, duplicated, and
per-chat order violations.

- Telegram: `--checkins` check-ins (with CSAT buttons) to `--chats` private chats; the binding
  limit is 30 messages/s per bot.
- Slack: `--slack-messages` to `--slack-channels` DMs; the binding limit is 1 message/s per
  channel.

    python -m bench.dispatch_bench [--checkins 10000] [--chats 1000] [--latency 0.1]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from bot.sandbox.platforms.slack_api import SlackSandbox
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
BUTTONS = [[str(n), f"csat:{n}"] for n in range(1, 6)]
FIRST_CHAT = 500_000
TELEGRAM_LIMIT = 30.0      # messages/s per bot (the shipped config and the loopback server)
SLACK_LIMIT = 1.0          # messages/s per channel
TARGET_FRACTION = 0.97


@dataclass
class Figures:
    sent: int
    expected: int
    rate: float            # messages/s, as the server saw them
    limit: float           # the binding limit, messages/s
    too_many: int          # 429s the server answered
    lost: int
    duplicated: int
    out_of_order: int      # messages that reached their chat before an earlier one
    seconds: float

    def lines(self, name: str) -> list[str]:
        fraction = self.rate / self.limit if self.limit else 0.0
        return [
            f"{name}: {self.sent} of {self.expected} messages in {self.seconds:.1f} s, "
            f"{self.rate:.2f}/s against a limit of {self.limit:.0f}/s",
            _row(f"{name} rate / limit", f"{fraction:.3f}", f">= {TARGET_FRACTION}", fraction >= TARGET_FRACTION),
            _row(f"{name} 429s", str(self.too_many), "0", self.too_many == 0),
            _row(f"{name} lost", str(self.lost), "0", self.lost == 0),
            _row(f"{name} duplicated", str(self.duplicated), "0", self.duplicated == 0),
            _row(f"{name} order violations", str(self.out_of_order), "0", self.out_of_order == 0),
        ]


def _row(label: str, value: str, target: str, ok: bool) -> str:
    return f"  {label:<38} {value:>10}   target {target:<8} {'ok' if ok else 'MISSED'}"


def _fill(db: Path, channel: str, addresses: list[str], per_address: int) -> list[str]:
    """The check-ins, n-th of every address before the (n+1)-th, as the scheduler writes them."""
    store = Store.open(db)
    now = datetime.now(timezone.utc)
    texts = []
    with store.transaction():
        for n in range(per_address):
            for address in addresses:
                text = f"check-in {address} #{n}: how is your order working for you?"
                store.outbox.add(channel, address, None, None, text, now, buttons=BUTTONS)
                texts.append(text)
    store.close()
    return texts


async def _worker(db: Path, url: str, token: str, kind: str) -> None:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox.dispatch_worker", str(db), url, token, kind, env=env,
        stdout=asyncio.subprocess.DEVNULL)
    code = await proc.wait()
    if code != 0:
        raise SystemExit(f"dispatch worker exited with {code}")


def _seq(text: str) -> int:
    return int(text.split("#", 1)[1].split(":", 1)[0])


def _count(expected: list[str], by_address: dict[str, list[str]]) -> tuple[int, int, int, int]:
    seen = Counter(text for texts in by_address.values() for text in texts)
    lost = len(set(expected) - set(seen))
    duplicated = sum(count - 1 for count in seen.values() if count > 1)
    out_of_order = 0
    for texts in by_address.values():
        highest = -1
        for text in texts:
            n = _seq(text)
            if n < highest:
                out_of_order += 1
            highest = max(highest, n)
    return sum(seen.values()), lost, duplicated, out_of_order


async def telegram(checkins: int, chats: int, latency: float) -> Figures:
    chat_ids = [FIRST_CHAT + n for n in range(chats)]
    accepted: list[tuple[float, int, str]] = []

    def on_send(message: dict) -> None:
        accepted.append((time.monotonic(), message["chat"]["id"], message.get("text", "")))

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "outbox.db"
        expected = _fill(db, "telegram", [str(c) for c in chat_ids], checkins // chats)
        async with TelegramSandbox(latency=latency, on_send=on_send) as api:
            for chat in chat_ids:
                await api.add_user(chat)
            started = time.monotonic()
            await _worker(db, api.url, api.token, "telegram")
            seconds = time.monotonic() - started
            too_many = api.stats.too_many_requests
    by_chat: dict[str, list[str]] = defaultdict(list)
    for _, chat, text in accepted:
        by_chat[str(chat)].append(text)
    sent, lost, duplicated, out_of_order = _count(expected, by_chat)
    span = accepted[-1][0] - accepted[0][0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    return Figures(sent, len(expected), rate, TELEGRAM_LIMIT, too_many, lost, duplicated, out_of_order, seconds)


async def slack(messages: int, channels: int, latency: float) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "outbox.db"
        async with SlackSandbox(rate=SLACK_LIMIT, burst=3, latency=latency) as api:
            users = [api.add_user(f"customer{n}") for n in range(channels)]
            expected = _fill(db, "slack", users, messages // channels)
            started = time.monotonic()
            await _worker(db, api.base_url, api.token, "slack")
            seconds = time.monotonic() - started
            posts = {user: api.dms_to(user) for user in users}
            too_many = api.ratelimited
    by_user = {user: [m.text for m in found] for user, found in posts.items()}
    sent, lost, duplicated, out_of_order = _count(expected, by_user)
    # The limit binds per channel: each channel's sustained rate between its first and last post.
    rates = []
    for found in posts.values():
        stamps = [float(m.ts) for m in found]
        if len(stamps) > 1 and stamps[-1] > stamps[0]:
            rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    rate = sum(rates) / len(rates) if rates else 0.0
    return Figures(sent, len(expected), rate, SLACK_LIMIT, too_many, lost, duplicated, out_of_order, seconds)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Print the dispatch figures beside their targets."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    parser = argparse.ArgumentParser(prog="dispatch_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=10_000, help="Telegram check-ins in the outbox")
    parser.add_argument("--chats", type=int, default=1_000, help="Telegram chats they go to")
    parser.add_argument("--slack-messages", type=int, default=600, help="Slack DMs in the outbox")
    parser.add_argument("--slack-channels", type=int, default=15, help="Slack DM channels they go to")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every API call")
    args = parser.parse_args(argv)
    print(f"dispatch: outbox -> Dispatcher -> adapter -> loopback server, {args.latency * 1000:.0f} ms "
          f"added to every API call", flush=True)
    for line in asyncio.run(telegram(args.checkins, args.chats, args.latency)).lines("telegram"):
        print(line, flush=True)
    for line in asyncio.run(slack(args.slack_messages, args.slack_channels, args.latency)).lines("slack"):
        print(line, flush=True)


if __name__ == "__main__":
    main()
