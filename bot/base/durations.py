"""Durations written the way people write them in config and scenarios: 45s, 30m, 72h, 4d, 2w."""
from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: object) -> timedelta:
    """'1d12h' -> timedelta(days=1, hours=12); raises ValueError with a readable reason."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip().lower().replace(" ", "")
    if not text or _PART.sub("", text):
        raise ValueError(f'"{value}" is not a duration (use e.g. 45s, 30m, 72h, 4d, 2w)')
    total = timedelta()
    for number, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit]: float(number)})
    return total


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of `delta` in our units ('3d', '90m')."""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
