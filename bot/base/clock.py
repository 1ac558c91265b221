"""Time as an argument: a real clock for production, a simulated one for `simulate` and tests.

Timestamps are stored as ISO-8601 UTC strings of fixed width, so they sort as text.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional, Protocol, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SimClock:
    """A clock that only moves when told to (simulations, tests, the fast sandbox)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        """Jump forward to `when` (never backwards)."""
        when = when.astimezone(timezone.utc)
        if when > self._now:
            self._now = when


@overload
def iso(when: datetime) -> str: ...
@overload
def iso(when: None) -> None: ...
def iso(when: Optional[datetime]) -> Optional[str]:
    """Fixed-width UTC text for the database, or None."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: Optional[str]) -> Optional[datetime]:
    """The inverse of `iso` (naive values are taken as UTC)."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def resolve_zone(customer_zone: Optional[str], default_zone: str) -> str:
    """The customer's zone when it is a real one, else the shop's default."""
    if customer_zone:
        try:
            ZoneInfo(customer_zone)
            return customer_zone
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return default_zone
