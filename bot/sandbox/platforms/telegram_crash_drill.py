"""Crash drills: `kill -9` the bot mid-work, again and again, and count at the loopback
server what survived. Used by the crash tests (short) and `make bench` (full).

Outbound: an outbox of N messages is sent by `dispatch_worker` processes to a Bot API with
latency added to every call; each is killed once the server has accepted at least one of its
sends and while sends are pending; the last one finishes. Counted at the server: lost
messages, duplicates, and whether each duplicate belongs to a send that was in flight
(claimed, unconfirmed) at a kill, which is the only way the outbox allows one.

Inbound: customers write while `inbound_worker` processes receive (polling or webhook) and
are killed mid-stream; the last one drains. Every update must be processed exactly once: its
event recorded once, its message stored once, and Telegram holding nothing unconfirmed.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from bot.base.errors import AftercareError
from bot.config.loading import load_settings
from bot.orders.importing import import_rows
from bot.nlu.base import Parse
from bot.orders.files import OrderRow
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.sandbox.platforms.telegram_limits import TelegramLimits
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[3]
FIRST_CHAT = 7001


class DrillError(AftercareError, RuntimeError):
    """The drill could not do what it promises (e.g. a worker finished before its kill)."""


# ==== processes ========================================================================
async def _spawn(module: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
           "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.communicate()


async def _until(condition, proc: asyncio.subprocess.Process, what: str, timeout: float) -> None:
    """Wait for `condition()`; a worker that exits first or a timeout fails the drill."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.returncode is not None:
            _, err = await proc.communicate()
            raise DrillError(f"the worker exited ({proc.returncode}) before {what}: {err.decode()[-800:]}")
        if time.monotonic() > deadline:
            await _kill(proc)
            raise DrillError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _settle(count, goal: int, timeout: float, quiet: float = 2.0) -> None:
    """Wait until `count()` reaches `goal`, or stops moving for `quiet` seconds (what is
    missing then is lost, and the drill says so)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while last < goal and time.monotonic() - since < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = count()
        if now != last:
            last, since = now, time.monotonic()


# ==== outbound =========================================================================
@dataclass
class OutboundResult:
    messages: int
    kills: int
    received: Counter = field(default_factory=Counter)         # text -> copies at the server
    in_flight: list[set[str]] = field(default_factory=list)    # per kill: texts claimed, unconfirmed
    accepted_before_kill: list[int] = field(default_factory=list)
    order_violations: int = 0
    too_many_requests: int = 0
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(1 for n in range(self.messages) if self.received[_text(n)] == 0)

    @property
    def duplicates(self) -> int:
        return sum(max(0, count - 1) for count in self.received.values())

    def duplicates_per_kill(self) -> list[int]:
        """Duplicates charged to each kill: extra copies of the sends in flight at it."""
        charged: list[int] = []
        left = {text: count - 1 for text, count in self.received.items() if count > 1}
        for flight in self.in_flight:
            n = 0
            for text in flight:
                if left.get(text, 0) > 0:
                    left[text] -= 1
                    n += 1
            charged.append(n)
        return charged

    @property
    def unexplained_duplicates(self) -> int:
        """Extra copies of messages that were not in flight at any kill (must be 0)."""
        return self.duplicates - sum(self.duplicates_per_kill())


def _text(n: int) -> str:
    return f"drill message {n:05d}"


def fill_outbox(db_path: Path, messages: int, chats: int) -> None:
    store = Store.open(db_path)
    now = datetime.now(timezone.utc)
    with store.transaction():
        for n in range(messages):
            store.outbox.add("telegram", str(FIRST_CHAT + n % chats), None, None, _text(n), now)
    store.close()


def _in_flight(store: Store) -> tuple[set[str], int]:
    """(texts claimed but unconfirmed, rows still to send) as the killed worker left them."""
    counts = store.outbox.counts()
    return store.run_log.outbox_texts("sending"), counts.get("pending", 0) + counts.get("sending", 0)


async def outbound_drill(workdir: Path, *, messages: int = 1000, chats: int = 100, kills: int = 10,
                         latency: float = 0.1, seed: int = 11, timeout: float = 600.0) -> OutboundResult:
    """Send `messages` through `kills` killed dispatchers and a last one that finishes."""
    db_path = workdir / "outbound-drill.db"
    fill_outbox(db_path, messages, chats)
    store = Store.open(db_path)          # the drill's own reader, next to the workers
    rng = random.Random(seed)
    result = OutboundResult(messages, kills)
    started = time.monotonic()
    async with TelegramSandbox(limits=TelegramLimits(), latency=latency) as api:
        for chat in range(FIRST_CHAT, FIRST_CHAT + chats):
            await api.add_user(chat)
        for kill in range(kills):
            proc = await _spawn("bot.sandbox.dispatch_worker", str(db_path), api.url, api.token, "telegram")
            before = api.stats.accepted
            left = messages - before
            # somewhere in this worker's share of the rest, never before its first accepted send
            target = before + rng.randint(1, max(1, left // (kills - kill + 1)))
            await _until(lambda target=target: api.stats.accepted >= target, proc, f"kill {kill + 1}", timeout)
            await _kill(proc)
            flight, unsent = _in_flight(store)
            if not unsent:
                raise DrillError(f"kill {kill + 1} came after the last send: make the outbox bigger")
            result.in_flight.append(flight)
            result.accepted_before_kill.append(api.stats.accepted - before)
        proc = await _spawn("bot.sandbox.dispatch_worker", str(db_path), api.url, api.token, "telegram")
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        if proc.returncode != 0:
            raise DrillError(f"the last worker failed ({proc.returncode}): {err.decode()[-800:]}")
        for chat in range(FIRST_CHAT, FIRST_CHAT + chats):
            texts = [m.text for m in api.messages_to(chat) if m.text is not None]
            result.received.update(texts)
            firsts = list(dict.fromkeys(texts))
            result.order_violations += len([a for a, b in zip(firsts, firsts[1:]) if a > b])
        result.too_many_requests = api.stats.too_many_requests
    store.close()
    result.seconds = time.monotonic() - started
    return result


# ==== inbound ==========================================================================
@dataclass
class InboundResult:
    mode: str
    updates: int
    kills: int
    events: Counter = field(default_factory=Counter)       # update id -> processed_events rows
    stored: Counter = field(default_factory=Counter)       # update id -> inbound message rows
    unconfirmed: int = 0                                   # still held by the server at the end
    given_up: int = 0                                      # webhook deliveries the server gave up
    processed_before_kill: list[int] = field(default_factory=list)
    seconds: float = 0.0
    update_ids: list[int] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(1 for u in self.update_ids if self.events[str(u)] == 0 or self.stored[str(u)] == 0)

    @property
    def twice(self) -> int:
        return sum(1 for u in self.update_ids if self.events[str(u)] > 1 or self.stored[str(u)] > 1)


def import_customers(db_path: Path, chats: int) -> None:
    """Customers with a linked Telegram chat each, so every message lands in a conversation."""
    settings = load_settings(ROOT / "config.yml", environ={})
    store = Store.open(db_path)
    now = datetime.now(timezone.utc)
    rows = [OrderRow(line=n + 1, order_id=f"D-{n}", customer_ref=f"DC-{n}", channel="telegram",
                     product="Trail Runner 2 shoes", sku="TR2-44", category="footwear",
                     purchased_at=now - timedelta(days=2), customer_name=f"Drill {n}",
                     address=str(FIRST_CHAT + n), status="placed")
            for n in range(chats)]
    import_rows(store, settings, rows, now)
    store.close()


def _processed(store: Store) -> int:
    return store.run_log.processed_count("telegram")


async def inbound_drill(workdir: Path, *, mode: str = "polling", updates: int = 1000, chats: int = 50,
                        kills: int = 10, parser: str = "bot.sandbox.platforms.telegram_crash_drill:EchoParser",
                        seed: int = 12, timeout: float = 300.0) -> InboundResult:
    """Customers write `updates` messages while receivers are killed `kills` times."""
    db_path = workdir / f"inbound-drill-{mode}.db"
    import_customers(db_path, chats)
    store = Store.open(db_path)          # the drill's own reader, next to the workers
    rng = random.Random(seed)
    result = InboundResult(mode, updates, kills)
    started = time.monotonic()
    async with TelegramSandbox(webhook_retry_base=0.05, webhook_max_attempts=14) as api:
        for n in range(chats):
            await api.add_user(FIRST_CHAT + n)
        per_round = updates // (kills + 1)
        for kill in range(kills + 1):
            proc = await _spawn("bot.sandbox.platforms.telegram_inbound_worker", str(db_path), api.url, api.token, mode, parser)
            before = _processed(store)
            for _ in range(per_round if kill < kills else updates - per_round * kills):
                sent = await api.user_sends(FIRST_CHAT + rng.randrange(chats), f"message {len(result.update_ids)}")
                result.update_ids.append(sent.update_id)
            if kill == kills:
                break
            # kill once this receiver has processed something and while updates still wait
            target = before + rng.randint(1, max(1, per_round // 2))
            await _until(lambda target=target: _processed(store) >= target, proc, f"kill {kill + 1}", timeout)
            await _kill(proc)
            if _processed(store) >= len(result.update_ids):
                raise DrillError(f"kill {kill + 1} came after every update was processed")
            result.processed_before_kill.append(_processed(store) - before)
        await _until(lambda: not api.queue.pending_count, proc, "the last receiver to drain", timeout)
        await _settle(lambda: _processed(store), len(result.update_ids), timeout)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), timeout)
        result.unconfirmed = api.queue.pending_count
        result.given_up = len(api.webhook_stats.given_up)
    result.events.update(store.run_log.processed_event_ids("telegram"))
    result.stored.update(store.run_log.inbound_platform_ids())
    store.close()
    result.seconds = time.monotonic() - started
    return result


class EchoParser:
    """A stand-in NLU for drills: every text is 'not understood', after the time the real
    model takes (~10 ms), in a thread as the real one runs (the receiving is the subject)."""

    seconds = 0.01

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        time.sleep(self.seconds)
        return Parse(text=text, intent="nlu_fallback", confidence=0.0)

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        return await asyncio.to_thread(self.parse, text, language)


def summary(outbound: Optional[OutboundResult] = None, *inbound: InboundResult) -> list[str]:
    """The drills' figures, each beside its target."""
    lines = []
    if outbound is not None:
        per_kill = outbound.duplicates_per_kill()
        lines += [
            f"outbound: {outbound.messages} messages, {outbound.kills} kill -9s, {outbound.seconds:.0f} s",
            f"  lost                         {outbound.lost:>6}   target 0",
            f"  duplicates                   {outbound.duplicates:>6}   target <= sends in flight at the kills",
            f"  max duplicates at one kill   {max(per_kill, default=0):>6}   target <= 8 (the sends in flight)",
            f"  sends in flight at kills     {sum(len(f) for f in outbound.in_flight):>6}   (max {max((len(f) for f in outbound.in_flight), default=0)} at one kill)",
            f"  duplicates not in flight     {outbound.unexplained_duplicates:>6}   target 0",
            f"  per-chat order violations    {outbound.order_violations:>6}   target 0",
            f"  429s                         {outbound.too_many_requests:>6}   target 0",
        ]
    for result in inbound:
        lines += [
            f"inbound ({result.mode}): {result.updates} updates, {result.kills} kill -9s, {result.seconds:.0f} s",
            f"  lost                         {result.lost:>6}   target 0",
            f"  processed twice              {result.twice:>6}   target 0",
            f"  left unconfirmed at Telegram {result.unconfirmed:>6}   target 0",
        ]
    return lines
