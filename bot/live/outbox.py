"""The dispatcher: the only component that sends, and the only one that owns rate limits
and retries. Adapters report plain results; this decides what follows.

Crash safety: a row is claimed (attempt recorded, committed) before the platform call; on
restart `reconcile()` puts unconfirmed claims back, so a crash costs at most one duplicate of
each send in flight (`Limits.in_flight`: up to 8 per channel), never a loss.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Collection, Mapping, Optional, Protocol

from bot.channels.base import Channel
from bot.base.clock import Clock
from bot.base.events import Button, ChoiceMade, OutboundMessage, SendResult, SendStatus
from bot.base.kinds import OutboxKind
from bot.store.rows import OutboxRow
from bot.store.store import Store

log = logging.getLogger(__name__)
MAX_NETWORK_ATTEMPTS = 12
SCAN_FIRST = 16          # due rows read first: a wake-up usually starts a few sends, then the channel is full
SCAN_FIRST_LIVE = 1      # the same when live: one send per channel per wake-up (the next waits for its slot)
SCAN_PAGE = 100          # due rows read at a time after that
SCAN_LIMIT = 1000        # due rows looked at per pass, at most
# While a channel has a send in flight, the next live one starts at least half the interval of
# the channel's rate later (16.7 ms at 30/s; at most MAX_START_SPACING): parallel calls of
# similar latency then also complete apart, so when the process dies, about one send at most
# has been accepted by the platform without its result recorded yet - the one duplicate a kill
# may cost - instead of a whole burst of them. A send with none in flight starts at once.
MAX_START_SPACING = 0.02


class Outlet(Protocol):
    """Sends the rows of an outbox channel that is not a customer channel (the support desk):
    it knows its own row kinds and what a sent row changes; the dispatcher only paces, claims,
    retries and records."""

    async def deliver(self, row: OutboxRow) -> SendResult:
        """Try one send of `row`; never raise."""

    def delivered(self, row: OutboxRow, result: SendResult) -> None:
        """A row was sent: record what follows (inside the dispatcher's transaction)."""


@dataclass(frozen=True)
class Limits:
    """Sends per second per address (chat / DM / channel) and per channel as a whole.

    `burst`: sends per channel that may go back to back. `reply_headroom`: sends per channel
    beyond `burst` that only answers may use, so customers who write at the same moment are
    answered at once rather than at the pace proactive sends keep (the platform tolerates
    `burst + reply_headroom` at once). `reply_burst`: messages of an answer to someone who just
    wrote that may go to their address at once (platforms tolerate short bursts per chat);
    proactive sends keep to `per_address`. `in_flight`: platform calls per channel at once,
    never two to one address."""

    per_address: float = 1.0
    per_channel: float = 30.0
    burst: int = 1
    reply_burst: int = 1
    in_flight: int = 8
    reply_headroom: int = 0


class _Bucket:
    """`rate` tokens a second up to `size`; starts full."""

    __slots__ = ("rate", "size", "tokens", "at")

    def __init__(self, rate: float, size: int, now: float) -> None:
        self.rate, self.size, self.tokens, self.at = rate, float(max(1, size)), float(max(1, size)), now

    def ready_at(self, now: float, need: float = 1.0) -> float:
        """When `need` tokens are there (one is taken; the rest stay, left for others)."""
        self._refill(now)
        return now if self.tokens >= need - 1e-3 else now + (need - self.tokens) / self.rate  # 1e-3: clock rounding

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def full_at(self) -> float:
        return self.at + (self.size - self.tokens) / self.rate

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
            self.at = now


class RateLimiter:
    """A token bucket per address and one per channel, on the injected clock.

    A reply may use the address's burst, and the channel's `reply_headroom`: a proactive send
    goes only while the channel's bucket holds more than that headroom, so the last tokens are
    kept for answers. A proactive send keeps to the address's interval on a schedule (GCRA):
    it may go up to `PACE_TOLERANCE` of an interval early, so a loop that wakes a little late
    does not lose that time for good, and the average stays at the rate."""

    PRUNE_AT = 10_000       # addresses remembered before idle ones are forgotten
    PACE_TOLERANCE = 0.1

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._addresses: dict[str, tuple[_Bucket, float]] = {}    # bucket, next proactive slot
        self._channel: Optional[_Bucket] = None

    def channel_ready_at(self, now: float, reply: bool = False) -> float:
        """The earliest time the channel as a whole may send again (an answer, or any send)."""
        return self._channel_bucket(now).ready_at(now, 1.0 if reply else 1.0 + self.limits.reply_headroom)

    def ready_at(self, address: str, now: float, reply: bool = False) -> float:
        """The earliest time (seconds) a send to `address` is allowed; <= now means now."""
        at = self.channel_ready_at(now, reply)
        known = self._addresses.get(address)
        if known and self.limits.per_address > 0:
            bucket, slot = known
            at = max(at, bucket.ready_at(now))
            if not reply:
                at = max(at, slot - self.PACE_TOLERANCE / self.limits.per_address)
        return at

    def taken(self, address: str, now: float) -> None:
        self._channel_bucket(now).take(now)
        if self.limits.per_address <= 0:
            return
        interval = 1.0 / self.limits.per_address
        known = self._addresses.get(address)
        bucket, slot = known if known else (_Bucket(self.limits.per_address, self.limits.reply_burst, now), now)
        bucket.take(now)
        self._addresses[address] = (bucket, max(slot, now) + interval)
        if len(self._addresses) > self.PRUNE_AT:
            self._prune(now)

    def _channel_bucket(self, now: float) -> _Bucket:
        if self._channel is None:
            self._channel = _Bucket(self.limits.per_channel, self.limits.burst + self.limits.reply_headroom, now)
        return self._channel

    def _prune(self, now: float) -> None:
        """An address whose bucket is full again and whose slot has passed is as if new."""
        for address, (bucket, slot) in list(self._addresses.items()):
            if bucket.full_at() <= now and slot <= now:
                del self._addresses[address]


class Dispatcher:
    """Sends due outbox rows through their channel, within limits, recording every attempt.

    `run` is the live loop: it wakes when the store commits new outbox rows, so a reply goes
    out as soon as it is committed, and sends to different addresses concurrently. `run_once`
    sends what is due now and returns, for loops on a simulated clock. `sends_on` restricts
    the dispatcher to some channels (another process sends the rest)."""

    def __init__(self, store: Store, channels: Mapping[str, Channel], clock: Clock,
                 limits: Mapping[str, Limits], outlets: Optional[Mapping[str, Outlet]] = None,
                 sends_on: Optional[Collection[str]] = None) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.outlets = dict(outlets or {})
        self.sends_on = frozenset(sends_on) if sends_on is not None else None
        self._limits = dict(limits)
        self._limiters = {name: RateLimiter(limit) for name, limit in limits.items()}
        self._in_flight: dict[tuple[str, str], asyncio.Task] = {}
        self._spacing = {name: min(MAX_START_SPACING, 0.5 / limit.per_channel) if limit.per_channel > 0 else 0.0
                         for name, limit in limits.items()}
        self._last_start: dict[str, float] = {}
        self._live = False                  # `run` drives: starts are spaced (see MAX_START_SPACING)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        self.stats: dict[str, int] = defaultdict(int)
        store.on_outbox_written(self.notify)

    def reconcile(self) -> int:
        """Call once at start: claims left by a crash go out again."""
        with self.store.transaction():
            count = self.store.outbox.reconcile()
        if count:
            log.warning("re-queued %d sends that were in flight when the process stopped", count)
        return count

    def notify(self) -> None:
        """New outbox rows were committed: wake `run` now. Safe from any thread."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            wake.set()
        else:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:        # the loop closed meanwhile
                pass

    async def run(self, stop: asyncio.Event, idle: float = 60.0) -> None:
        """Send as rows are committed until `stop` is set, then let in-flight sends finish.
        Sleeps until the next row or rate-limit slot is due, a commit, or a send completes;
        `idle` only bounds a sleep with nothing scheduled (a row written by another process)."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._live = True
        stopper = asyncio.create_task(self._wake_on(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                next_at = self._start_due()
                wait = idle
                if next_at is not None:
                    wait = min(idle, max(0.0, (next_at - self.clock.now()).total_seconds()))
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
            await self._finish_in_flight()
        finally:
            stopper.cancel()
            self._loop = self._wake = None
            self._live = False

    async def run_once(self) -> Optional[datetime]:
        """Send everything due now that the limits allow (concurrently across addresses, in
        order per address). Returns when the next row is ready, or None."""
        while True:
            next_at = self._start_due()
            if not self._in_flight:
                return next_at
            done, _ = await asyncio.wait(set(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()             # a crash (BaseException) in a send is the caller's

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        if self._wake is not None:
            self._wake.set()

    async def _finish_in_flight(self) -> None:
        while self._in_flight:
            await asyncio.wait(set(self._in_flight.values()))

    def _start_due(self) -> Optional[datetime]:
        """Claim and start every due send the limits allow now; never a second one to an
        address with a send in flight, nor past a held row (per-address order). Returns the
        time the next held or future row becomes sendable (in-flight completions wake anyway).

        Reads only the first due row of each address (the others wait behind it), a page at a
        time, and stops once every channel is at its limit, or keeps only its reply headroom
        (answers further down a long proactive queue wait their turn), so a long queue costs
        little per wake-up. A row cancelled on the way (invariant 5) lets its address's next
        row be considered in a second pass."""
        now_dt = self.clock.now()
        now = now_dt.timestamp()
        held: set[tuple[str, str]] = set(self._in_flight)
        busy = Counter(channel for channel, _ in self._in_flight)
        # Channels that can start nothing now whatever their rows (at their in-flight limit, or
        # before their next start slot) are left out of the read: under load most wake-ups (a
        # commit of a reply, a completion) come while the channel waits, and each read and
        # decoded a page of rows for nothing.
        blocked = self._blocked(busy, now)
        full: set[str] = set(blocked)   # channels that can start nothing more now
        paced: set[str] = set()         # channels that can start answers only (reply headroom)
        next_ready: Optional[float] = None
        rescan = True
        while rescan:
            rescan = False
            seen: set[str] = set()
            offset = 0
            # live, a channel starts one send per pass (the next waits for its start slot)
            page = SCAN_FIRST_LIVE if self._live else SCAN_FIRST
            while offset < SCAN_LIMIT:
                rows = self.store.outbox.due_heads(now_dt, limit=page, offset=offset, excluding=blocked)
                offset += len(rows)
                for row in rows:
                    channel = row.channel
                    seen.add(channel)
                    key = (channel, str(row.address))
                    if channel in full or key in held or (self.sends_on is not None and channel not in self.sends_on):
                        continue
                    held.add(key)
                    limits, limiter = self._limits.get(channel), self._limiters.get(channel)
                    if limits is not None and busy[channel] >= limits.in_flight:
                        full.add(channel)
                        continue
                    reply = row.reply
                    if limiter:
                        ready = max(limiter.channel_ready_at(now, reply=True), self._spaced(channel, busy))
                        if ready > now + 1e-6:
                            full.add(channel)
                            next_ready = ready if next_ready is None else min(next_ready, ready)
                            continue
                        if not reply and channel in paced:
                            continue
                        ready = max(limiter.channel_ready_at(now), self._spaced(channel, busy))
                        if not reply and ready > now + 1e-6:
                            paced.add(channel)
                            next_ready = ready if next_ready is None else min(next_ready, ready)
                            continue
                        ready = limiter.ready_at(key[1], now, reply=reply)
                        if ready > now + 1e-6:
                            next_ready = ready if next_ready is None else min(next_ready, ready)
                            continue
                    if not self._allowed(row):
                        held.discard(key)
                        offset -= 1                  # no longer pending: the next page moved up
                        rescan = True                # and its address's next row is now a head
                        continue
                    with self.store.transaction():
                        if not self.store.outbox.claim(row.id, now_dt):
                            continue
                    offset -= 1
                    if limiter:
                        limiter.taken(key[1], now)
                    self._last_start[channel] = now
                    busy[channel] += 1
                    self._in_flight[key] = asyncio.ensure_future(self._deliver(key, row))
                if len(rows) < page or seen <= full | paced:
                    break
                page = min(SCAN_PAGE, page * 8)
        upcoming = self.store.outbox.next_due_at()
        if upcoming and upcoming <= now_dt and blocked:
            # rows are due, maybe of the channels left out: look again when the first may start
            # (one at its in-flight limit starts when a send completes, which wakes the loop)
            soonest = min(blocked.values())
            if soonest < math.inf:
                next_ready = soonest if next_ready is None else min(next_ready, soonest)
        waits = [datetime.fromtimestamp(next_ready, tz=now_dt.tzinfo)] if next_ready is not None else []
        if upcoming and upcoming > now_dt:
            waits.append(upcoming)
        return min(waits) if waits else None

    def _spaced(self, channel: str, busy: Counter) -> float:
        """The channel's next start slot while a send is in flight (see MAX_START_SPACING)."""
        if not (self._live and busy[channel]):
            return 0.0
        return self._last_start.get(channel, 0.0) + self._spacing.get(channel, 0.0)

    def _blocked(self, busy: Counter, now: float) -> dict[str, float]:
        """Channels that can start no send now, whatever the row (an answer included), with
        when they can (infinity: when one of their sends completes)."""
        blocked: dict[str, float] = {}
        for channel, limiter in self._limiters.items():
            if busy[channel] >= self._limits[channel].in_flight:
                blocked[channel] = math.inf
                continue
            ready = max(limiter.channel_ready_at(now, reply=True), self._spaced(channel, busy))
            if ready > now + 1e-6:
                blocked[channel] = ready
        return blocked

    async def _deliver(self, key: tuple[str, str], row: OutboxRow) -> None:
        """One claimed send: the platform call, then its record; wakes the loop when done."""
        try:
            result = await self._send(row)
            self._record(row, result)
        except Exception:
            log.exception("recording the send of outbox row %s failed", row.id)
        finally:
            self._in_flight.pop(key, None)
            if self._wake is not None:
                self._wake.set()

    def _allowed(self, row: OutboxRow) -> bool:
        """Invariant 5: nothing to an opted-out or unreachable identity, ever. (Marketing consent
        gates proactive contact in the scheduler; a customer who writes in still gets replies.)"""
        if row.identity_id is None:
            return True
        identity = self.store.customers.identity(row.identity_id)
        reason = None
        if not identity.address:
            reason = "no address (not linked yet)"
        elif not identity.reachable:
            reason = "unreachable"
        elif identity.opted_out and not row.payload.get("opt_out_confirmation"):
            reason = "opted out"
        if reason:
            with self.store.transaction():
                self.store.outbox.fail(row.id, "cancelled", reason)
            self.stats["cancelled"] += 1
            return False
        return True

    async def _send(self, row: OutboxRow) -> SendResult:
        try:
            outlet = self.outlets.get(row.channel)
            if outlet is not None:
                return await outlet.deliver(row)
            channel = self.channels.get(row.channel)
            if channel is None:
                return SendResult(SendStatus.FAILED, error=f"no channel {row.channel!r} is running")
            if row.kind == OutboxKind.MARK_CHOSEN:
                return await self._mark_chosen(channel, row)
            if not row.address:
                return SendResult(SendStatus.FAILED, error="no address to send to")
            buttons = tuple(Button(label, value) for label, value in row.buttons)
            return await channel.send(OutboundMessage(row.channel, row.address, row.text, buttons))
        except Exception as exc:  # an adapter bug must not kill the dispatcher
            log.exception("send of outbox row %s raised", row.id)
            return SendResult(SendStatus.RETRY, error=f"adapter raised {exc!r}")

    async def _mark_chosen(self, channel: Channel, row: OutboxRow) -> SendResult:
        question = self.store.conversations.message(row.payload["message_row"])
        platform_id = question.platform_message_id
        if not platform_id or not row.address:
            return SendResult(SendStatus.SENT)
        await channel.mark_chosen(ChoiceMade(row.channel, row.address, platform_id, question.text,
                                             row.payload["label"]))
        return SendResult(SendStatus.SENT, platform_message_id=platform_id)

    def _record(self, row: OutboxRow, result: SendResult) -> None:
        now = self.clock.now()
        self.stats[result.status.value] += 1
        with self.store.transaction():
            if result.status is SendStatus.SENT:
                self.store.outbox.sent(row.id, result.platform_message_id, now)
                self.store.conversations.set_platform_id(row.id, result.platform_message_id)
                outlet = self.outlets.get(row.channel)
                if outlet is not None:
                    outlet.delivered(row, result)
            elif result.status is SendStatus.RETRY:
                attempts = row.attempts + 1
                if result.retry_after <= 0 and attempts >= MAX_NETWORK_ATTEMPTS:
                    self.store.outbox.fail(row.id, "failed", f"gave up after {attempts} attempts: {result.error}")
                    return
                delay = result.retry_after if result.retry_after > 0 else min(2 ** attempts, 300)
                self.store.outbox.retry(row.id, now + timedelta(seconds=delay), result.error)
            elif result.status is SendStatus.UNREACHABLE:
                self.store.outbox.fail(row.id, "unreachable", result.error)
                if row.identity_id is not None:
                    self.store.customers.mark_unreachable(row.identity_id)
                    self.store.outbox.cancel_for_identity(row.identity_id, "unreachable")
            else:
                log.error("outbox row %s failed for good: %s", row.id, result.error)
                self.store.outbox.fail(row.id, "failed", result.error)
