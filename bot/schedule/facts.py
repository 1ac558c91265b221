"""What scheduling knows about one line item of an order (`OrderFacts`) and the moments read
off it and the customer's other orders: the delivery (real or expected), the customer's first
purchase, which of their orders this is. Pure: no SQL, no clock; every time is an aware UTC
datetime."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from bot.config.settings import Audience, ScheduleSettings
from bot.store.rows import PastOrder

STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
CLOSED_STATUSES = frozenset({"cancelled", "returned"})


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
    history: tuple[PastOrder, ...] = ()          # the customer's orders, this one included (milestones)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f'status "{self.status}" is not one of {", ".join(STATUSES)}')
        if self.quantity < 1:
            raise ValueError(f"quantity must be >= 1, got {self.quantity}")
        for name in ("purchased_at", "shipped_at", "delivered_at", "expected_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_aware(value, name))


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


def _ordered(order: OrderFacts) -> list[PastOrder]:
    """The customer's orders oldest first, this one among them."""
    orders = {past.order_id: past for past in order.history}
    if order.order_id not in orders:
        orders[order.order_id] = PastOrder(order.order_id, order.purchased_at, frozenset({order.sku}),
                                           frozenset({order.category}))
    return sorted(orders.values(), key=lambda past: (past.purchased_at, past.order_id))


def first_purchase(order: OrderFacts, only: Audience) -> Optional[datetime]:
    """This order's purchase when it is the customer's first (of the products in `only`), else None."""
    first = next((past for past in _ordered(order) if past.has(only)), None)
    return order.purchased_at if first is not None and first.order_id == order.order_id else None


def order_number(order: OrderFacts) -> int:
    """Which of the customer's orders this is: 1 for the first."""
    return next(n for n, past in enumerate(_ordered(order), 1) if past.order_id == order.order_id)


def last_bought(order: OrderFacts, only: Audience) -> Optional[datetime]:
    """The customer's latest purchase of a product in `only`."""
    return max((past.purchased_at for past in _ordered(order) if past.has(only)), default=None)
