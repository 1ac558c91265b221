"""What a touchpoint kind is timed from (`from:` in config.yml): an anchor names a moment of a
line item's life. The built-ins (purchase, shipment, delivery, run_out, late, first_purchase)
are registered as a default plugin through `aftercare_touchpoint_anchors`, exactly as an
outside package adds one; config.yml may name any anchor the plugins declare.

An anchor is pure: it reads the `OrderFacts` (this order, and the customer's other orders for
milestones) and the schedule's settings, and answers a moment, or None while it is not known
yet (a kind with no moment has no touchpoint)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Optional

from bot.config.settings import Anchor, Audience, Replenishment, ScheduleSettings
from bot.schedule.facts import OrderFacts, delivery_anchor, expected_delivery, first_purchase


@dataclass(frozen=True)
class AnchorContext:
    """What an anchor may read beside the order: the schedule (expected transit...), the
    replenishment table, and the kind's `only:` audience (milestones)."""

    schedule: ScheduleSettings
    replenishment: Mapping[str, Replenishment]
    only: Audience


@dataclass(frozen=True)
class TouchpointAnchor:
    """One `from:` value: its name, what happened at it as a sentence says it ("too old:
    delivered 36 days ago"), and the moment it answers for a line item."""

    name: str
    event: str
    time: Callable[[OrderFacts, AnchorContext], Optional[datetime]]
    description: str = ""


def _run_out(order: OrderFacts, at: AnchorContext) -> Optional[datetime]:
    delivered = delivery_anchor(order, at.schedule)
    refill = at.replenishment.get(order.sku)
    return delivered + timedelta(days=order.quantity * refill.usage_days) if delivered and refill else None


def _late(order: OrderFacts, at: AnchorContext) -> Optional[datetime]:
    late = order.delivered_at is None and order.status != "delivered"
    return expected_delivery(order, at.schedule) if late else None


BUILTIN: tuple[TouchpointAnchor, ...] = (
    TouchpointAnchor(Anchor.PURCHASE.value, "ordered", lambda order, at: order.purchased_at, "the purchase"),
    TouchpointAnchor(Anchor.SHIPMENT.value, "shipped", lambda order, at: order.shipped_at, "the shipment"),
    TouchpointAnchor(Anchor.DELIVERY.value, "delivered", lambda order, at: delivery_anchor(order, at.schedule),
                     "the delivery: delivered_at, else the carrier's estimate, else shipped + expected_transit"),
    TouchpointAnchor(Anchor.RUN_OUT.value, "delivered", _run_out,
                     "the expected run-out: delivery + quantity x usage_days (SKUs in upsell.replenishment)"),
    TouchpointAnchor(Anchor.LATE.value, "expected", _late,
                     "the expected delivery of an order shipped and not delivered yet (a delay notice)"),
    TouchpointAnchor(Anchor.FIRST_PURCHASE.value, "first ordered", lambda order, at: first_purchase(order, at.only),
                     "the customer's first order (of the products in `only`): milestones"),
)


def anchors_of(schedule: ScheduleSettings) -> Mapping[str, Any]:
    """The anchors a schedule's kinds may name: those its settings were loaded with (every
    plugin's), else the built-ins."""
    return schedule.anchors or {anchor.name: anchor for anchor in BUILTIN}


def anchor_time(anchor: str, order: OrderFacts, schedule: ScheduleSettings,
                replenishment: Mapping[str, Replenishment], only: Optional[Audience] = None) -> Optional[datetime]:
    """The moment a kind is timed from, or None while it is unknown (or never applies)."""
    name = anchor.value if isinstance(anchor, Anchor) else anchor
    found = anchors_of(schedule).get(name)
    if found is None:
        raise ValueError(f"no touchpoint anchor named {name!r} (known: {', '.join(anchors_of(schedule))})")
    return found.time(order, AnchorContext(schedule, replenishment, only or Audience()))
