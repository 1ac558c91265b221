"""Scenario files for `aftercare simulate`: load and validate (file, line, reason).

Besides the customer's turns (`press`, `say`, `wait`, `block`), a scenario may move its order
the way the shop's system would, through the same upsert as an import: `deliver` (delivered
now), `cancel`, `estimate: DURATION` (the carrier's new estimate: now + DURATION) and
`ship: STATUS` (the carrier's latest shipment status, e.g. in_transit). `start:` (an ISO
datetime) pins the simulated clock's start, for scenarios about the time of day.

`reorder: ORDER_ID` places another order of the same item now (not shipped yet) and
`deliver: ORDER_ID` delivers it; `tell_fixed: {problem_type, message, sku, since}` runs
`aftercare tell-fixed` as the shop would (confirmed; sku defaults to the order's; `message` is
the default language's text, or a mapping of language to text).

`before:` holds turns played at the moment the order is imported, before anything is due (the
customer writes in first, e.g. a problem the day it arrives); the clock then moves on to the
next thing the bot has to say and `turns:` follow as usual.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional, Union

from bot.channels.registry import ChannelRegistry
from bot.base.durations import parse_duration
from bot.base.yamlsource import SourceError, load_yaml


class ScenarioError(SourceError):
    """A scenario file is invalid."""


@dataclass(frozen=True)
class Press:
    value: str


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Wait:
    duration: timedelta


@dataclass(frozen=True)
class Block:
    pass


@dataclass(frozen=True)
class AgentMove:
    kind: str            # claim | reply | resolve | note | assign | release | snooze | saved_reply | goodwill | history
    text: str = ""
    value: str = ""      # snooze: 1h | 4h | tomorrow | customer; saved_reply: its id; assign: second
    by: str = ""         # first | second: which agent plays it ("": the case's owner, else the first)


AGENT_MOVES = ("claim", "reply", "resolve", "note", "assign", "release", "snooze", "saved_reply", "goodwill",
               "history")
SNOOZES = ("1h", "4h", "tomorrow", "customer")


@dataclass(frozen=True)
class OrderMove:
    """The shop's system changes the order: deliver | cancel | estimate (duration) | ship (status),
    or places another one of the same item (reorder); `order_id` names another order than the
    scenario's (reorder, deliver)."""

    kind: str
    duration: Optional[timedelta] = None
    status: Optional[str] = None
    order_id: Optional[str] = None


@dataclass(frozen=True)
class TellFixed:
    """The shop runs `aftercare tell-fixed` (and confirms)."""

    problem_type: str
    message: str                                    # the shop's default language's text ("" with `messages`)
    sku: Optional[str] = None
    since: Optional[str] = None
    messages: Optional[dict[str, str]] = None       # language -> text


ORDER_MOVES = ("deliver", "cancel", "estimate", "ship", "referred_order", "reorder")
Turn = Union[Press, Say, Wait, Block, OrderMove, TellFixed]


@dataclass(frozen=True)
class Scenario:
    path: Path
    channel: str
    customer: dict
    order: dict
    turns: list[Turn] = field(default_factory=list)
    agent: list[AgentMove] = field(default_factory=list)
    start: Optional[datetime] = None
    history: list[dict] = field(default_factory=list)
    before: list[Turn] = field(default_factory=list)
    desk: dict = field(default_factory=dict)      # goodwill_per_week: the desk's weekly goodwill budget


def load_scenario(path: Path | str, channels: Optional[ChannelRegistry] = None) -> Scenario:
    """A scenario file, checked; its `channel:` must be one of `channels` (the plugins'; the
    built-ins when not given)."""
    known = (channels if channels is not None else ChannelRegistry()).names()
    doc = load_yaml(Path(path))
    data = doc.data
    if not isinstance(data, dict):
        raise ScenarioError(path, 1, "a scenario is a mapping with channel, customer, order, turns")

    def fail(where: list, reason: str) -> ScenarioError:
        return ScenarioError(path, doc.line_of(where), reason)

    for key in data:
        if key not in ("channel", "customer", "order", "turns", "agent", "start", "history", "before", "desk"):
            raise fail([key], f"unknown key {key!r}")
    channel = str(data.get("channel", "console"))
    if channel not in known:
        raise fail(["channel"], f"channel {channel!r} is not one of {', '.join(known)}")
    customer = data.get("customer") or {}
    order = data.get("order")
    if not isinstance(customer, dict):
        raise fail(["customer"], "customer must be a mapping (name, language, timezone)")
    if not isinstance(order, dict):
        raise fail(["order"], "order is required: {order_id, product, sku, category, delivered_days_ago}")
    for key in ("order_id", "product", "sku"):
        if not order.get(key):
            raise fail(["order"], f"order.{key} is required")
    for key in ("delivered_days_ago", "shipped_days_ago"):
        if key in order and not isinstance(order[key], (int, float)):
            raise fail(["order", key], f"order.{key} must be a number of days")
    turns = [_turn(doc, fail, i, raw) for i, raw in enumerate(data.get("turns") or [])]
    before = [_turn(doc, fail, i, raw, "before") for i, raw in enumerate(data.get("before") or [])]
    agent = [_agent_move(fail, i, raw) for i, raw in enumerate(data.get("agent") or [])]
    history = data.get("history") or []
    if not isinstance(history, list):
        raise fail(["history"], "history is a list of earlier orders")
    for index, earlier in enumerate(history):
        if not isinstance(earlier, dict):
            raise fail(["history", index], "an earlier order is a mapping {order_id, product, sku, purchased_days_ago}")
        for key in ("order_id", "product", "sku"):
            if not earlier.get(key):
                raise fail(["history", index], f"history[{index}].{key} is required")
        if not isinstance(earlier.get("purchased_days_ago"), (int, float)):
            raise fail(["history", index], f"history[{index}].purchased_days_ago must be a number of days")
    desk = data.get("desk") or {}
    if not isinstance(desk, dict) or set(desk) - {"goodwill_per_week"} or not all(
            isinstance(v, int) and v >= 0 for v in desk.values()):
        raise fail(["desk"], "desk: {goodwill_per_week: N} (a whole number, 0 or more)")
    return Scenario(Path(path), channel, dict(customer), dict(order), turns, agent, _start(fail, data.get("start")),
                    [dict(earlier) for earlier in history], before, dict(desk))


def _start(fail, raw) -> Optional[datetime]:
    if raw is None:
        return None
    try:
        start = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise fail(["start"], f"start: {raw!r} is not an ISO datetime (e.g. 2026-11-02T22:30:00Z)") from None
    if start.tzinfo is None:
        raise fail(["start"], "start: give a time zone (e.g. a trailing Z for UTC)")
    return start


def _turn(doc, fail, index: int, raw, section: str = "turns") -> Turn:
    where = [section, index]
    if raw == "block":
        return Block()
    if raw in ("deliver", "cancel", "referred_order"):
        return OrderMove(raw)
    if not isinstance(raw, dict) or len(raw) != 1:
        raise fail(where, "a turn is one of `press: X`, `say: TEXT`, `wait: DURATION`, `block`, `deliver`, "
                          "`cancel`, `estimate: DURATION`, `ship: STATUS`, `referred_order`, `reorder: ORDER_ID`, "
                          "`deliver: ORDER_ID` or `tell_fixed: {...}`")
    (kind, value), = raw.items()
    if kind == "press":
        return Press(str(value))
    if kind == "say":
        return Say("" if value is None else str(value))
    if kind == "wait":
        try:
            return Wait(parse_duration(value))
        except ValueError as exc:
            raise fail(where, f"wait: {exc}") from None
    if kind == "block":
        return Block()
    if kind in ("deliver", "cancel") and value is None:
        return OrderMove(kind)
    if kind in ("deliver", "reorder"):
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise fail(where, f"{kind}: give an order id, e.g. {kind}: S-1002")
        return OrderMove(kind, order_id=str(value).strip())
    if kind == "tell_fixed":
        return _tell_fixed(fail, where, value)
    if kind == "estimate":
        try:
            return OrderMove(kind, duration=parse_duration(value))
        except ValueError as exc:
            raise fail(where, f"estimate: {exc}") from None
    if kind == "ship":
        if not value or not str(value).replace("_", "").isalpha():
            raise fail(where, "ship: give the carrier's status, a word like in_transit")
        return OrderMove(kind, status=str(value).lower())
    raise fail(where, f"unknown turn {kind!r} (press, say, wait, block, deliver, cancel, estimate, ship, "
                      "referred_order, reorder, tell_fixed)")


def _tell_fixed(fail, where: list, value) -> TellFixed:
    if not isinstance(value, dict) or not value.get("problem_type") or not value.get("message"):
        raise fail(where, "tell_fixed: give {problem_type: TYPE, message: TEXT} (and optionally sku, since)")
    unknown = sorted(set(value) - {"problem_type", "message", "sku", "since"})
    if unknown:
        raise fail(where, f"tell_fixed: unknown key {unknown[0]!r} (problem_type, message, sku, since)")
    message = value["message"]
    if isinstance(message, dict) and not all(isinstance(t, str) and t.strip() for t in message.values()):
        raise fail(where, "tell_fixed: `message` maps each language to its text, e.g. {en: \"...\", de: \"...\"}")
    return TellFixed(str(value["problem_type"]), "" if isinstance(message, dict) else str(message),
                     str(value["sku"]) if value.get("sku") else None,
                     str(value["since"]) if value.get("since") else None,
                     {str(k): str(v) for k, v in message.items()} if isinstance(message, dict) else None)


def _agent_move(fail, index: int, raw) -> AgentMove:
    where = ["agent", index]
    usage = ("an agent move is `claim`, `resolve`, `release`, `goodwill`, `history`, `reply: TEXT`, `note: TEXT`, "
             "`assign: second`, `snooze: 1h|4h|tomorrow|customer` or `saved_reply: ID`, optionally with "
             "`by: first|second`")
    if raw in AGENT_MOVES:
        raw = {raw: None}
    if not isinstance(raw, dict) or not raw:
        raise fail(where, usage)
    by = str(raw.get("by") or "")
    if by not in ("", "first", "second"):
        raise fail(where, f"by: {by!r} is not first or second")
    rest = {k: v for k, v in raw.items() if k != "by"}
    if len(rest) != 1 or next(iter(rest)) not in AGENT_MOVES:
        raise fail(where, usage)
    (kind, value), = rest.items()
    value = "" if value is None else str(value)
    if kind in ("reply", "note"):
        if not value.strip():
            raise fail(where, f"{kind}: give the text")
        return AgentMove(kind, text=value, by=by)
    if kind == "snooze" and value not in SNOOZES:
        raise fail(where, f"snooze: {value!r} is not one of {', '.join(SNOOZES)}")
    if kind == "assign" and value != "second" and value != "first":
        raise fail(where, "assign: first or second (the agent to hand the case to)")
    if kind == "saved_reply" and not value:
        raise fail(where, "saved_reply: give the saved reply's id (saved_replies.yml)")
    return AgentMove(kind, value=value, by=by)
