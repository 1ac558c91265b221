"""Telegram's flood limits as the loopback Bot API enforces them.

Telegram documents them loosely: about 30 messages a second per bot, about one a second per
private chat (short bursts pass, then 429), 20 a minute per group. Each is a token bucket
here, read from an injectable clock so a simulated clock can drive it. A message is accepted
only when every bucket it touches has a token; a refusal consumes nothing and says how long
to wait, rounded up to whole seconds as Telegram's `retry_after` is.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class TelegramLimits:
    """Rates (per second unless named otherwise) and burst sizes; `enabled=False` lets all pass."""

    per_bot_per_second: float = 30.0
    per_bot_burst: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: float = 3.0
    per_group_per_minute: float = 20.0
    per_group_burst: float = 20.0
    enabled: bool = True

    @classmethod
    def off(cls) -> "TelegramLimits":
        """No flood control: for tests that are about something else."""
        return cls(enabled=False)


class TokenBucket:
    """`rate` tokens a second up to `burst`; starts full."""

    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        self._refill(now)
        missing = 1 - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate  # 1e-9: float drift

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now


@dataclass
class LimitStats:
    """What the server saw: accepted sends, 429s, per chat; first/last accept on the clock."""

    accepted: int = 0
    too_many_requests: int = 0
    per_chat: Counter = field(default_factory=Counter)
    first_accept_at: Optional[float] = None
    last_accept_at: Optional[float] = None

    def accepted_rate(self) -> float:
        """Accepted messages per second between the first and the last accept."""
        if self.accepted < 2 or self.first_accept_at is None or self.last_accept_at is None:
            return 0.0
        span = self.last_accept_at - self.first_accept_at
        return (self.accepted - 1) / span if span > 0 else math.inf


class FloodControl:
    """Decides, per outgoing message, accept or "retry after N"."""

    def __init__(self, limits: TelegramLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.stats = LimitStats()
        self._clock = clock
        self._bot: Optional[TokenBucket] = None
        self._chats: dict[int, TokenBucket] = {}

    def admit(self, chat_id: int, is_group: bool) -> Optional[int]:
        """None if the message may go now (and count it); else `retry_after` in seconds."""
        now = self._clock()
        if self.limits.enabled:
            buckets = (self._bot_bucket(now), self._chat_bucket(chat_id, is_group, now))
            wait = max(bucket.wait(now) for bucket in buckets)
            if wait > 0:
                self.stats.too_many_requests += 1
                return max(1, math.ceil(wait))
            for bucket in buckets:
                bucket.take(now)
        self._count(chat_id, now)
        return None

    def _bot_bucket(self, now: float) -> TokenBucket:
        if self._bot is None:
            self._bot = TokenBucket(self.limits.per_bot_per_second, self.limits.per_bot_burst, now)
        return self._bot

    def _chat_bucket(self, chat_id: int, is_group: bool, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if is_group:
                rate, burst = self.limits.per_group_per_minute / 60.0, self.limits.per_group_burst
            else:
                rate, burst = self.limits.per_chat_per_second, self.limits.per_chat_burst
            bucket = self._chats[chat_id] = TokenBucket(rate, burst, now)
        return bucket

    def _count(self, chat_id: int, now: float) -> None:
        stats = self.stats
        stats.accepted += 1
        stats.per_chat[chat_id] += 1
        if stats.first_accept_at is None:
            stats.first_accept_at = now
        stats.last_accept_at = now
