"""What the loopback Slack workspace remembers: users, channels, messages, and the per-channel
posting limit. Plain data, no HTTP, so the server and the tests read the same objects."""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

Clock = Callable[[], float]


@dataclass
class User:
    id: str
    name: str
    email: Optional[str] = None
    deleted: bool = False
    is_bot: bool = False
    locale: str = "en-US"             # the language the person set in Slack

    def as_api(self, team_id: str, include_locale: bool = False) -> dict:
        """users.info / users.lookupByEmail shape; `locale` only when asked for, as Slack does."""
        profile = {"real_name": self.name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        user = {
            "id": self.id, "team_id": team_id, "name": self.name, "real_name": self.name,
            "deleted": self.deleted, "is_bot": self.is_bot, "tz": "UTC", "profile": profile,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    is_im: bool = False
    is_private: bool = False
    is_archived: bool = False
    im_user: Optional[str] = None     # the other side of a DM

    @property
    def channel_type(self) -> str:
        """The `channel_type` Slack puts on message events."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: Optional[str] = None        # author (the bot's own user id for bot posts)
    bot_id: Optional[str] = None
    blocks: list = field(default_factory=list)
    thread_ts: Optional[str] = None
    edited: int = 0                   # how many chat.update calls changed it
    pings: tuple[str, ...] = ()       # notifications this text would send, e.g. "!channel"
    links: tuple[str, ...] = ()       # labelled links <url|label> found in the text

    def as_api(self) -> dict:
        """The `message` object Slack returns and puts in interactivity payloads."""
        out = {"type": "message", "text": self.text, "ts": self.ts, "blocks": self.blocks}
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        return out


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    message_ts: str
    blocks: list = field(default_factory=list)


@dataclass
class View:
    """An open modal: what the app sent (`body`), what the person entered so far (`values`:
    block_id -> action_id -> state element), whether it was closed (submitted)."""

    id: str
    user: str
    body: dict
    hash: str = ""
    values: dict = field(default_factory=dict)
    closed: bool = False
    updated: int = 0

    def as_api(self, team_id: str) -> dict:
        """The `view` object Slack returns and puts in payloads, with its `state`."""
        return dict(self.body, id=self.id, team_id=team_id, hash=self.hash,
                    state={"values": self.values}, private_metadata=self.body.get("private_metadata", ""),
                    callback_id=self.body.get("callback_id", ""))


class TsSource:
    """Slack message timestamps: wall-clock seconds with six decimals, strictly increasing,
    so every `ts` is unique in the workspace (Slack guarantees it per channel)."""

    def __init__(self, wall: Clock = time.time) -> None:
        self._wall = wall
        self._last = 0.0

    def next(self) -> str:
        now = max(round(self._wall(), 6), round(self._last + 0.000001, 6))
        self._last = now
        return f"{now:.6f}"


class Ids:
    """Sequential Slack-looking ids (U..., C..., D..., Ev...), readable in test output."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def make(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):08d}"


class ChannelRateLimiter:
    """A token bucket per channel: `rate` posts per second with `burst` posts of headroom,
    like Slack's "about one message per second per channel, short bursts allowed".

    The clock is injectable so a simulated clock can drive the limit."""

    def __init__(self, rate: float = 1.0, burst: int = 3, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}   # channel -> (tokens, at)

    def try_take(self, channel: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is free."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return 0.0
        self._buckets[channel] = (tokens, now)
        return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after_header(wait: float) -> int:
        """Slack sends whole seconds in Retry-After, never 0 for a refused call."""
        return max(1, math.ceil(wait))
