"""Orders -> the touchpoints they are due for, from the kinds declared in config.yml.

Pure: no SQL, no clock. The store calls `touchpoints_for` on every import or update of a line
item and upserts the result; the governor decides later whether each one may go out when it
falls due. Every time here is an aware UTC datetime.

A kind (`schedule.touchpoints.<name>`) is timed from an anchor (bot/schedule/anchors.py; a
plugin may declare more): the purchase, the shipment,
the delivery (the real `delivered_at`, else the carrier's estimate `expected_at`, else
`shipped_at + expected_transit`), the expected run-out of a consumable (delivery + quantity x
usage days, for SKUs listed in `upsell.replenishment`), or `late`: the expected delivery of an
order shipped and not delivered yet (a delay notice; delivery in time cancels it, a later
estimate moves it, and its `anchor` lets the store tell a second delay from a repeat), or
`first_purchase`: the customer's first order (of the products in the kind's `only`), which
carries the customer's milestones (an anniversary). Milestones also use the customer's other
orders (`OrderFacts.history`): `nth_order` (on the 10th order only) and `still_buying` (only
while the product is still being bought). A kind whose anchor is not known yet has no touchpoint; an order
neither shipped nor delivered has only its purchase-timed ones. Cancelled and returned orders
have none (the store cancels pending ones).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection, Mapping, Optional

from bot.config.settings import Anchor, Items, MessageClass, Replenishment, ScheduleSettings, TouchpointKind
from bot.schedule.anchors import anchor_time
from bot.schedule.facts import (CLOSED_STATUSES, STATUSES, OrderFacts, delivery_anchor, last_bought, order_number,
                                require_aware)

__all__ = ["STATUSES", "OrderFacts", "Touchpoint", "delivery_anchor", "kinds_without_flow", "reschedule_checkin",
           "touchpoints_for"]


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
    message_class: MessageClass
    sku: str = ""
    anchor: Optional[datetime] = None    # what it was timed from; kept for `late` kinds (see the store)

    @property
    def proactive(self) -> bool:
        """Counts against the weekly cap and waits out quiet hours (all but transactional ones)."""
        return self.message_class not in (MessageClass.TRANSACTIONAL, MessageClass.SERVICE)


def touchpoints_for(order: OrderFacts, schedule: ScheduleSettings, replenishment: Mapping[str, Replenishment],
                    first_item: bool = True) -> list[Touchpoint]:
    """Every touchpoint of one line item, sorted by due time (ties in the order the kinds are declared).

    `first_item` is False for an order's other line items: they get only the kinds with
    `items: each`. A kind with `only:` goes to the listed categories and SKUs alone.
    """
    if order.status in CLOSED_STATUSES:
        return []
    due: dict[str, datetime] = {}
    anchors: dict[str, datetime] = {}
    for name, kind in schedule.touchpoints.items():
        at = anchor_time(kind.anchor, order, schedule, replenishment, kind.only)
        if at is not None:
            anchors[name] = at
            due[name] = at + kind.offset(order.sku, order.category)
    points = []
    for name, at in due.items():
        kind = schedule.touchpoints[name]
        if (not first_item and kind.items is not Items.EACH) or not kind.only.includes(order.sku, order.category):
            continue
        if not _milestone_reached(kind, order, at):
            continue
        if kind.not_before in due:
            at = max(at, due[kind.not_before])
        points.append(_point(order, name, kind, at, anchors[name]))
    order_of = list(schedule.touchpoints)
    return sorted(points, key=lambda p: (p.due_at, order_of.index(p.kind)))


def _milestone_reached(kind: TouchpointKind, order: OrderFacts, due_at: datetime) -> bool:
    """`nth_order`: this is the customer's Nth order; `still_buying`: they bought one of the
    products in `only` within that long before `due_at` (another import may make it true later)."""
    if kind.nth_order is not None and order_number(order) != kind.nth_order:
        return False
    if kind.still_buying is not None:
        latest = last_bought(order, kind.only)
        return latest is not None and latest + kind.still_buying >= due_at
    return True


def kinds_without_flow(schedule: ScheduleSettings, flows: Collection[str]) -> list[tuple[str, str]]:
    """(kind, flow) for each declared kind whose flow is not among `flows`."""
    return [(name, schedule.flow_of(name)) for name in schedule.touchpoints if schedule.flow_of(name) not in flows]


def reschedule_checkin(now: datetime, schedule: ScheduleSettings) -> datetime:
    """"Not used yet" -> ask again after the configured pause."""
    return require_aware(now, "now") + schedule.not_used_yet_delay


def _point(order: OrderFacts, name: str, kind: TouchpointKind, due_at: datetime, anchor: datetime) -> Touchpoint:
    return Touchpoint(order.order_id, name, kind.flow or name, due_at, kind.message_class, order.sku,
                      anchor if kind.anchor is Anchor.LATE else None)
