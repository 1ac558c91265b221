"""Orders -> the touchpoints they are due for.

Pure: no SQL, no clock. The store calls `touchpoints_for` on every import or update of a line
item and upserts the result; the governor decides later whether each one may go out when it
falls due. Every time here is an aware UTC datetime.

Anchor of the proactive touchpoints is the delivery: the real `delivered_at`, else the
carrier's estimate `expected_at`, else `shipped_at + expected_transit`; an order neither
shipped nor delivered has only its thank-you. Cancelled and returned orders have none (the
store cancels pending ones). A shipped order not yet delivered also has a delay notice, due
`delays.grace` after that expected moment: delivery in time cancels it (it is no longer
wanted), a later estimate moves it, and its `anchor` (the expected moment) lets the store tell
a second delay from a repeat of the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping, Optional

from bot.config import DelaySettings, Replenishment, ScheduleSettings

STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
CLOSED_STATUSES = frozenset({"cancelled", "returned"})

THANK_YOU = "thank_you"
CHECKIN = "checkin"
NPS = "nps"
REPLENISHMENT = "replenishment"
DELAY_NOTICE = "delay_notice"
KINDS = (THANK_YOU, DELAY_NOTICE, CHECKIN, NPS, REPLENISHMENT)
SERVICE_KINDS = frozenset({DELAY_NOTICE})           # about the order itself: no weekly-cap slot
AFTER_DELIVERY_KINDS = frozenset({CHECKIN, NPS, REPLENISHMENT})

# Remind a few days before the expected run-out, so the refill can arrive in time.
REPLENISHMENT_MARGIN = timedelta(days=3)


def require_aware(value: datetime, name: str) -> datetime:
    """Naive datetimes are a bug upstream (whose clock?); refuse them loudly."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class OrderFacts:
    """What scheduling needs to know about one line item of an order."""

    order_id: str
    sku: str
    category: str
    quantity: int
    purchased_at: datetime
    shipped_at: Optional[datetime]
    delivered_at: Optional[datetime]
    status: str
    expected_at: Optional[datetime] = None      # the carrier's delivery estimate, when known

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f'status "{self.status}" is not one of {", ".join(STATUSES)}')
        if self.quantity < 1:
            raise ValueError(f"quantity must be >= 1, got {self.quantity}")
        for name in ("purchased_at", "shipped_at", "delivered_at", "expected_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_aware(value, name))


@dataclass(frozen=True)
class Touchpoint:
    """One message an order is due for.

    `sku` tells line items of the same order apart (each may have its own check-in and
    replenishment); it defaults to "" so callers that build touchpoints by hand need not care.
    """

    order_id: str
    kind: str
    flow: str
    due_at: datetime
    proactive: bool
    sku: str = ""
    anchor: Optional[datetime] = None    # the moment it was timed from (delay notice: expected delivery)


def delivery_anchor(order: OrderFacts, schedule: ScheduleSettings) -> Optional[datetime]:
    """When the customer has (or most likely has) the item: delivery, else the carrier's
    estimate, else shipped + transit."""
    if order.delivered_at is not None:
        return order.delivered_at
    return expected_delivery(order, schedule)


def expected_delivery(order: OrderFacts, schedule: ScheduleSettings) -> Optional[datetime]:
    """When a shipped order should arrive: the carrier's estimate, else shipped + transit."""
    if order.expected_at is not None:
        return order.expected_at
    if order.shipped_at is not None:
        return order.shipped_at + schedule.expected_transit
    return None


def touchpoints_for(order: OrderFacts, schedule: ScheduleSettings,
                    replenishment: Mapping[str, Replenishment],
                    delays: Optional[DelaySettings] = None) -> list[Touchpoint]:
    """Every touchpoint of one line item, sorted by due time (ties in KINDS order)."""
    if order.status in CLOSED_STATUSES:
        return []
    points: list[Touchpoint] = []
    if schedule.thank_you:
        points.append(_point(order, THANK_YOU, order.purchased_at, proactive=False))
    expected = expected_delivery(order, schedule)
    if delays is not None and delays.enabled and order.delivered_at is None and expected is not None \
            and order.status != "delivered":
        points.append(Touchpoint(order.order_id, DELAY_NOTICE, DELAY_NOTICE, expected + delays.grace,
                                 False, order.sku, anchor=expected))
    anchor = delivery_anchor(order, schedule)
    if anchor is not None:
        checkin_at = anchor + schedule.checkin_delay(order.sku, order.category)
        points.append(_point(order, CHECKIN, checkin_at))
        if schedule.nps_after is not None:
            points.append(_point(order, NPS, anchor + schedule.nps_after))
        refill = replenishment.get(order.sku)
        if refill is not None:
            points.append(_point(order, REPLENISHMENT,
                                 replenishment_due(anchor, order.quantity, refill, checkin_at)))
    return sorted(points, key=lambda p: (p.due_at, KINDS.index(p.kind)))


def replenishment_due(delivered_at: datetime, quantity: int, refill: Replenishment,
                      checkin_at: datetime) -> datetime:
    """Expected run-out minus a margin, never before the check-in (ask about it first)."""
    run_out = delivered_at + timedelta(days=quantity * refill.usage_days)
    return max(run_out - REPLENISHMENT_MARGIN, checkin_at)


def reschedule_checkin(now: datetime, schedule: ScheduleSettings) -> datetime:
    """"Not used yet" -> ask again after the configured pause."""
    return require_aware(now, "now") + schedule.not_used_yet_delay


def _point(order: OrderFacts, kind: str, due_at: datetime, proactive: bool = True) -> Touchpoint:
    # flow names equal kind names today; kept apart so a shop could map a kind to its own flow
    return Touchpoint(order.order_id, kind, kind, due_at, proactive, order.sku)
