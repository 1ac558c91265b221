"""The dispatcher: the only component that sends, and the only one that owns rate limits
and retries. Adapters report plain results; this decides what follows.

Crash safety: a row is claimed (attempt recorded, committed) before the platform call; on
restart `reconcile()` puts unconfirmed claims back, so a crash costs at most one duplicate.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Optional

from bot.cases import SUPPORT, CaseDesk
from bot.channels.base import Channel, SupportDesk
from bot.clock import Clock
from bot.events import Button, ChoiceMade, OutboundMessage, SendResult, SendStatus
from bot.store.store import Store

log = logging.getLogger(__name__)
MAX_NETWORK_ATTEMPTS = 12


@dataclass(frozen=True)
class Limits:
    """Sends per second per address (chat / DM / channel) and per channel as a whole."""

    per_address: float = 1.0
    per_channel: float = 30.0
    burst: int = 1


class RateLimiter:
    """Spacing per address plus a token bucket per channel, on the injected clock."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._next_for: dict[str, float] = {}
        self._tokens = float(max(1.0, limits.burst))
        self._refilled_at: Optional[float] = None

    def ready_at(self, address: str, now: float) -> float:
        """The earliest time (seconds) a send to `address` is allowed; <= now means now."""
        self._refill(now)
        at = self._next_for.get(address, now)
        if self._tokens < 1:
            at = max(at, now + (1 - self._tokens) / self.limits.per_channel)
        return at

    def taken(self, address: str, now: float) -> None:
        self._refill(now)
        self._tokens -= 1
        if self.limits.per_address > 0:
            self._next_for[address] = now + 1.0 / self.limits.per_address

    def _refill(self, now: float) -> None:
        if self._refilled_at is not None:
            self._tokens = min(float(max(1, self.limits.burst)),
                               self._tokens + (now - self._refilled_at) * self.limits.per_channel)
        self._refilled_at = now


class Dispatcher:
    """Sends due outbox rows through their channel, within limits, recording every attempt."""

    def __init__(self, store: Store, channels: Mapping[str, Channel], clock: Clock,
                 limits: Mapping[str, Limits], desk: Optional[SupportDesk] = None,
                 cases: Optional[CaseDesk] = None) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.desk = desk
        self.cases = cases
        self._limiters = {name: RateLimiter(limit) for name, limit in limits.items()}
        self._busy: set[str] = set()
        self.stats: dict[str, int] = defaultdict(int)

    def reconcile(self) -> int:
        """Call once at start: claims left by a crash go out again."""
        with self.store.transaction():
            count = self.store.outbox.reconcile()
        if count:
            log.warning("re-queued %d sends that were in flight when the process stopped", count)
        return count

    async def run_once(self) -> Optional[datetime]:
        """Send everything due now that the limits allow. Returns when the next row is ready."""
        now = self.clock.now()
        rows = self.store.outbox.due(now, limit=1000)
        by_channel: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_channel[row["channel"]].append(row)
        results = await asyncio.gather(*(self._drain(name, batch) for name, batch in by_channel.items()))
        waits = [at for at in results if at is not None]
        upcoming = self.store.outbox.next_due_at()
        if upcoming and upcoming > now:
            waits.append(upcoming)
        return min(waits) if waits else None

    async def _drain(self, channel: str, rows: list[dict]) -> Optional[datetime]:
        """Send one channel's due rows in order; per-address order is never broken."""
        limiter = self._limiters.get(channel)
        held: set = set()
        next_ready: Optional[float] = None
        for row in rows:
            key = str(row["address"])
            if key in held:
                continue
            now_dt = self.clock.now()
            now = now_dt.timestamp()
            if limiter:
                ready = limiter.ready_at(key, now)
                if ready > now:
                    held.add(key)
                    next_ready = ready if next_ready is None else min(next_ready, ready)
                    continue
            if not self._allowed(row):
                continue
            with self.store.transaction():
                if not self.store.outbox.claim(row["id"], now_dt):
                    continue
            if limiter:
                limiter.taken(key, now)
            result = await self._send(row)
            self._record(row, result)
            if result.status is SendStatus.RETRY:
                held.add(key)
        return datetime.fromtimestamp(next_ready, tz=self.clock.now().tzinfo) if next_ready else None

    def _allowed(self, row: dict) -> bool:
        """Invariant 5: nothing to an opted-out or unreachable identity, ever. (Marketing consent
        gates proactive contact in the scheduler; a customer who writes in still gets replies.)"""
        if row["identity_id"] is None:
            return True
        identity = self.store.customers.identity(row["identity_id"])
        payload = json.loads(row["payload"] or "{}")
        reason = None
        if not identity.address:
            reason = "no address (not linked yet)"
        elif not identity.reachable:
            reason = "unreachable"
        elif identity.opted_out and not payload.get("opt_out_confirmation"):
            reason = "opted out"
        if reason:
            with self.store.transaction():
                self.store.outbox.fail(row["id"], "cancelled", reason)
            self.stats["cancelled"] += 1
            return False
        return True

    async def _send(self, row: dict) -> SendResult:
        try:
            if row["channel"] == SUPPORT:
                return await self._send_support(row)
            channel = self.channels.get(row["channel"])
            if channel is None:
                return SendResult(SendStatus.FAILED, error=f"no channel {row['channel']!r} is running")
            if row["kind"] == "mark_chosen":
                return await self._mark_chosen(channel, row)
            buttons = tuple(Button(label, value) for label, value in json.loads(row["buttons"] or "[]"))
            return await channel.send(OutboundMessage(row["channel"], row["address"], row["text"], buttons))
        except Exception as exc:  # an adapter bug must not kill the dispatcher
            log.exception("send of outbox row %s raised", row["id"])
            return SendResult(SendStatus.RETRY, error=f"adapter raised {exc!r}")

    async def _mark_chosen(self, channel: Channel, row: dict) -> SendResult:
        payload = json.loads(row["payload"])
        question = self.store.conversations.message(payload["message_row"])
        if not question.get("platform_message_id"):
            return SendResult(SendStatus.SENT)
        await channel.mark_chosen(ChoiceMade(row["channel"], row["address"], question["platform_message_id"],
                                             question["text"], payload["label"]))
        return SendResult(SendStatus.SENT, platform_message_id=question["platform_message_id"])

    async def _send_support(self, row: dict) -> SendResult:
        if self.desk is None or self.cases is None:
            return SendResult(SendStatus.FAILED, error="no support desk configured")
        payload = json.loads(row["payload"])
        case = self.store.cases.get(payload["case_id"]) if "case_id" in payload else None
        channel = row["address"]
        if row["kind"] == "case_card":
            return await self.desk.post_case(channel, self.cases.card(case["id"], self.clock.now()))
        if row["kind"] == "notice":
            return await self.desk.post_notice(channel, row["text"])
        if row["kind"] == "delete_post":
            return await self.desk.delete_post(channel, payload["ts"])
        if case is None:
            return SendResult(SendStatus.FAILED, error="case not found")
        if not case.get("card_ts"):
            return SendResult(SendStatus.RETRY, retry_after=1.0, error="case card not posted yet")
        if row["kind"] == "case_update":
            return await self.desk.update_case(case["card_channel"] or channel, case["card_ts"],
                                               self.cases.card(case["id"], self.clock.now()))
        if row["kind"] == "thread":
            return await self.desk.post_in_thread(case["card_channel"] or channel, case["card_ts"], row["text"],
                                                  mentions=tuple(payload.get("mentions") or ()))
        if row["kind"] == "ephemeral":
            return await self.desk.post_ephemeral(channel, payload["user"], row["text"])
        return SendResult(SendStatus.FAILED, error=f"unknown support post kind {row['kind']!r}")

    def _record(self, row: dict, result: SendResult) -> None:
        now = self.clock.now()
        self.stats[result.status.value] += 1
        with self.store.transaction():
            if result.status is SendStatus.SENT:
                self.store.outbox.sent(row["id"], result.platform_message_id, now)
                self.store.conversations.set_platform_id(row["id"], result.platform_message_id)
                if row["kind"] == "case_card":
                    self.store.cases.update(json.loads(row["payload"])["case_id"], card_ts=result.platform_message_id,
                                            card_channel=row["address"])
            elif result.status is SendStatus.RETRY:
                attempts = row["attempts"] + 1
                if result.retry_after <= 0 and attempts >= MAX_NETWORK_ATTEMPTS:
                    self.store.outbox.fail(row["id"], "failed", f"gave up after {attempts} attempts: {result.error}")
                    return
                delay = result.retry_after if result.retry_after > 0 else min(2 ** attempts, 300)
                self.store.outbox.retry(row["id"], now + timedelta(seconds=delay), result.error)
            elif result.status is SendStatus.UNREACHABLE:
                self.store.outbox.fail(row["id"], "unreachable", result.error)
                if row["identity_id"] is not None:
                    self.store.customers.mark_unreachable(row["identity_id"])
                    self.store.outbox.cancel_for_identity(row["identity_id"], "unreachable")
            else:
                log.error("outbox row %s failed for good: %s", row["id"], result.error)
                self.store.outbox.fail(row["id"], "failed", result.error)
