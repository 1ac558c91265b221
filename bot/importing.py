"""`aftercare orders import`: order files -> customers, identities, orders, items, touchpoints.

An upsert keyed on order id: the same file twice changes nothing; a later file with a delivery
date, status or cancellation updates the order and its schedule.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.clock import iso
from bot.config import Settings
from bot.orders import OrderRow, RowError, read_orders
from bot.schedule.touchpoints import touchpoints_for
from bot.store.store import Store


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    forgotten: int = 0           # orders of forgotten customers, skipped
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_ok(self) -> int:
        return self.inserted + self.updated + self.unchanged


def import_file(store: Store, settings: Settings, path: Path | str, now: datetime) -> ImportReport:
    """Import one CSV/JSON file; bad rows are reported with their line and skipped."""
    rows, errors = read_orders(path)
    report = import_rows(store, settings, rows, now)
    report.errors.extend(errors)
    return report


def import_rows(store: Store, settings: Settings, rows: list[OrderRow], now: datetime) -> ImportReport:
    report = ImportReport()
    by_order: dict[str, list[OrderRow]] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
    with store.transaction():
        for items in by_order.values():
            outcome = _import_order(store, settings, items, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _import_order(store: Store, settings: Settings, items: list[OrderRow], now: datetime) -> str:
    head = items[0]
    if store.privacy.is_suppressed("order", head.order_id):
        return "forgotten"          # an old order of a forgotten customer: never re-created
    customer_id = store.customers.upsert(head.customer_ref, head.customer_name or head.customer_ref, head.email,
                                         head.timezone, head.language, now)
    store.customers.ensure_identity(customer_id, head.channel, head.address, _consent(store, head, customer_id),
                                    now, source=f"order-import:{head.order_id}")
    outcome = store.orders.upsert_order({
        "order_id": head.order_id, "customer_id": customer_id, "channel": head.channel, "status": head.status,
        "purchased_at": iso(head.purchased_at), "shipped_at": iso(head.shipped_at),
        "delivered_at": iso(head.delivered_at),
    }, now)
    changed_items = False
    for index, item in enumerate(items):
        changed_items |= store.orders.upsert_item({
            "order_id": item.order_id, "product": item.product, "sku": item.sku, "category": item.category,
            "quantity": item.quantity, "price": float(item.price) if item.price is not None else None,
        })
        wanted = [     # kinds with `items: first` (one check-in per order) only on the first item
            {"kind": t.kind, "flow": t.flow, "due_at": iso(t.due_at)}
            for t in touchpoints_for(item.facts(), settings.schedule, settings.upsell.replenishment,
                                     first_item=index == 0)
        ]
        store.orders.set_touchpoints(item.order_id, item.sku, wanted)
    if outcome == "unchanged" and changed_items:
        return "updated"
    return outcome


def _consent(store: Store, head: OrderRow, customer_id: int) -> bool:
    """The file's consent, except for someone who was forgotten before (same customer ref, email
    or address): a new order is imported, but nothing proactive goes to them until they opt in
    again themselves (/start, a new deep link); the file cannot switch that back on."""
    privacy = store.privacy
    if not (privacy.is_suppressed("ref", head.customer_ref) or privacy.is_suppressed("email", head.email)
            or privacy.is_suppressed(head.channel, head.address)):
        return head.consent
    current = next((i for i in store.customers.identities_of(customer_id) if i.channel == head.channel), None)
    return current.consent if current is not None else False
