"""Offers, once each: when the run-out refill reminder must not go out at all.

A touchpoint timed `from: run_out` is the refill reminder of its SKU (upsell.replenishment).
It is skipped for good, with the reason recorded on the touchpoint, when a later order already
holds the SKU (the customer has reordered; that order's own run-out counts), when the customer
said no to this refill before, or when it was offered to them before (each distinct offer goes
to a customer at most once, shared/CONVERSATION.md). The flow's guard (`refill_eligible`)
still decides on the scores; this only keeps the scheduler from starting a conversation that
could say nothing, and lets `aftercare due` say why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.config.settings import Anchor, Settings
from bot.conversation.context import refill_key
from bot.store.rows import StoredOrder, TouchpointRow
from bot.store.store import Store

REORDERED = "skipped:reordered"
DECLINED = "skipped:declined"
OFFERED = "skipped:offered"


@dataclass(frozen=True)
class Skip:
    """A touchpoint dropped for good: the status the store keeps, and why in words."""

    status: str
    why: str


def offer_skip(store: Store, settings: Settings, touchpoint: TouchpointRow, order: StoredOrder) -> Optional[Skip]:
    """Why this run-out touchpoint must not go out, or None (any other kind: None)."""
    kind = settings.schedule.touchpoints.get(touchpoint.kind)
    if kind is None or kind.anchor is not Anchor.RUN_OUT:
        return None
    sku = touchpoint.sku or ""
    customer_id = order.customer_id
    later = store.orders.later_order_with(customer_id, order.order_id, sku)
    if later:
        return Skip(REORDERED, f"skipped: a later order ({later}) already contains {sku}")
    key = refill_key(settings, sku)
    if key and store.conversations.offer_declined(customer_id, key):
        return Skip(DECLINED, f"skipped: the customer said no to the {sku} refill before")
    if key and store.conversations.offer_made_before(customer_id, key):
        return Skip(OFFERED, f"skipped: the {sku} refill was offered to them before (each offer once)")
    return None
