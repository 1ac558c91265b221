"""Orders -> customers, identities, orders, items, touchpoints: the one upsert behind
`aftercare orders import`, `aftercare orders watch` and the order webhooks.

An upsert keyed on order id: the same file twice changes nothing; a later file with a delivery
date, status or cancellation updates the order and its schedule. A pushed delivery (webhook)
may carry a delivery id: it is recorded in the same transaction, so a repeat changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from bot.base.clock import iso, parse_iso
from bot.channels.registry import ChannelRegistry
from bot.config.settings import Anchor, Settings
from bot.orders.files import OrderRow, RowError, read_orders
from bot.schedule.expiry import HISTORY, anchor_event, history_skip, too_old
from bot.schedule.touchpoints import OrderFacts, Touchpoint, touchpoints_for
from bot.store.rows import TouchpointRow
from bot.store.store import Store


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    forgotten: int = 0           # orders of forgotten customers, skipped
    dropped: int = 0             # touchpoints already past (their expiry, or history): recorded, never sent
    errors: list[RowError] = field(default_factory=list)
    duplicate: bool = False          # the delivery id was seen before: nothing was written

    @property
    def rows_ok(self) -> int:
        return self.inserted + self.updated + self.unchanged


def import_file(store: Store, settings: Settings, path: Path | str, now: datetime,
                history_before: Optional[datetime] = None, channels: Optional[ChannelRegistry] = None) -> ImportReport:
    """Import one CSV/JSON file; bad rows are reported with their line and skipped.
    `history_before`: see `import_rows`. `channels`: those an order may name (the plugins'; the
    built-ins when None)."""
    rows, errors = read_orders(path, channels)
    report = import_rows(store, settings, rows, now, history_before=history_before)
    report.errors.extend(errors)
    return report


def import_rows(store: Store, settings: Settings, rows: list[OrderRow], now: datetime,
                delivery: Optional[tuple[str, str]] = None,
                history_before: Optional[datetime] = None) -> ImportReport:
    """Upsert `rows` in one transaction. `delivery` = (source, id) of a pushed delivery: when
    it was already processed nothing is written and the report says `duplicate`.

    Whatever is past its expiry at `now` is recorded as dropped (never sent late). Orders
    purchased before `history_before` are history (`orders import --history` / `--since`): they
    are recorded for reports and memory, and nothing of theirs that fell due before `now` is
    scheduled; what falls due later (an NPS survey next week) still is."""
    report = ImportReport()
    by_order: dict[str, list[OrderRow]] = defaultdict(list)
    for row in rows:
        by_order[row.order_id].append(row)
    with store.transaction():
        if delivery is not None and not store.events.first_time(delivery[0], delivery[1], now):
            report.duplicate = True
            return report
        for items in by_order.values():
            outcome = _import_order(store, settings, items, now, history_before, report)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def stored_rows(store: Store, order_id: str) -> list[OrderRow]:
    """An order as the store holds it, as the rows that would import it again (to apply a
    partial update, such as a shipment event, through the same upsert)."""
    order = store.orders.get(order_id)
    if order is None:
        return []
    customer = store.customers.get(order.customer_id)
    identity = next((i for i in store.customers.identities_of(order.customer_id)
                     if i.channel == order.channel), None)
    when: dict[str, Any] = {name: parse_iso(getattr(order, name)) for name in ("purchased_at", "shipped_at", "delivered_at", "expected_at")}
    return [OrderRow(
        line=index + 1, order_id=order_id, customer_ref=customer.ref, channel=order.channel,
        product=item.product, sku=item.sku, category=item.category, quantity=item.quantity,
        customer_name=customer.name, email=customer.email, timezone=customer.timezone,
        language=customer.language or "en",
        price=Decimal(str(item.price)) if item.price is not None else None,
        address=identity.address if identity else None, consent=identity.consent if identity else True,
        status=order.status, shipment_status=order.shipment_status,
        referral_code=order.referral_code, **when,
    ) for index, item in enumerate(store.orders.items(order_id))]


def patched_rows(store: Store, order_id: str, **changes: Any) -> list[OrderRow]:
    """The stored order with `changes` applied to each of its rows ([] when unknown)."""
    return [replace(row, **changes) for row in stored_rows(store, order_id)]


def _import_order(store: Store, settings: Settings, items: list[OrderRow], now: datetime,
                  history_before: Optional[datetime], report: ImportReport) -> str:
    head = items[0]
    if store.privacy.is_suppressed("order", head.order_id):
        return "forgotten"          # an old order of a forgotten customer: never re-created
    new_customer = store.customers.id_of_ref(head.customer_ref) is None
    customer_id = store.customers.upsert(head.customer_ref, head.customer_name or head.customer_ref, head.email,
                                         head.timezone, head.language, now)
    # Order data may propose a contact for a customer it creates; an existing customer's chat
    # is bound only by the signed deep link or an admin (a buyer writes a shop's cart attributes).
    store.customers.ensure_identity(customer_id, head.channel, head.address if new_customer else None,
                                    _consent(store, head, customer_id), now, source=f"order-import:{head.order_id}")
    outcome = store.orders.upsert_order({
        "order_id": head.order_id, "customer_id": customer_id, "channel": head.channel, "status": head.status,
        "purchased_at": iso(head.purchased_at), "shipped_at": iso(head.shipped_at),
        "delivered_at": iso(head.delivered_at), "expected_at": iso(head.expected_at),
        "shipment_status": head.shipment_status, "referral_code": head.referral_code,
    }, now)
    changed_items = False
    for item in items:
        changed_items |= store.orders.upsert_item({
            "order_id": item.order_id, "product": item.product, "sku": item.sku, "category": item.category,
            "quantity": item.quantity, "price": float(item.price) if item.price is not None else None,
        })
    milestones = any(kind.needs_history for kind in settings.schedule.touchpoints.values())
    history = store.orders.history(customer_id) if milestones else ()
    for index, item in enumerate(items):
        report.dropped += _schedule(store, settings, replace_facts(item.facts(), history), index == 0, now,
                                    history_before)
    if milestones and (outcome != "unchanged" or changed_items):
        report.dropped += _reschedule_milestones(store, settings, customer_id, head.order_id, history, now,
                                                 history_before)
    if outcome == "unchanged" and changed_items:
        return "updated"
    return outcome


def replace_facts(facts: OrderFacts, history: tuple) -> OrderFacts:
    return replace(facts, history=history) if history else facts


def _schedule(store: Store, settings: Settings, facts: OrderFacts, first_item: bool, now: datetime,
              history_before: Optional[datetime] = None, kinds: Optional[set[str]] = None) -> int:
    """Make one line item's touchpoints match the schedule (only `kinds`, when given); returns
    how many were recorded dropped (already past)."""
    current = {t.kind: t for t in store.orders.touchpoints(facts.order_id) if t.sku == facts.sku}
    history = history_before is not None and facts.purchased_at < history_before
    wanted = [     # kinds with `items: first` (one check-in per order) only on the first item
        _wanted(t, current.get(t.kind), settings, facts, now, history)
        for t in touchpoints_for(facts, settings.schedule, settings.upsell.replenishment, first_item=first_item)
        if kinds is None or t.kind in kinds
    ]
    return store.orders.set_touchpoints(facts.order_id, facts.sku, wanted, kinds=kinds)


def _reschedule_milestones(store: Store, settings: Settings, customer_id: int, imported: str,
                           history: tuple, now: datetime, history_before: Optional[datetime]) -> int:
    """A new (or cancelled) order changes which order is the customer's first or tenth: the
    milestone kinds of their other orders are timed again (their other kinds are left alone).
    Only the orders that may carry one are looked at: those holding a pending one, the first
    order (of each kind's products) and the Nth; a customer's orders are never all re-read."""
    kinds = {name: kind for name, kind in settings.schedule.touchpoints.items() if kind.needs_history}
    candidates = set(store.orders.ids_with_pending(customer_id, set(kinds)))
    for kind in kinds.values():
        if kind.anchor is Anchor.FIRST_PURCHASE:
            candidates.update(next(([past.order_id] for past in history if past.has(kind.only)), []))
        elif kind.nth_order is not None:
            candidates.update(past.order_id for past in history[kind.nth_order - 1:kind.nth_order])
        else:                       # timed from this order alone but kept by `still_buying`: every order
            candidates.update(store.orders.ids_of_customer(customer_id))
    candidates.discard(imported)
    dropped = 0
    for order_id in sorted(candidates):
        for row in stored_rows(store, order_id):
            dropped += _schedule(store, settings, replace_facts(row.facts(), history), row.line == 1, now,
                                 history_before, set(kinds))
    return dropped


def _wanted(touchpoint: Touchpoint, current: Optional[TouchpointRow], settings: Settings, facts: OrderFacts,
            now: datetime, history: bool) -> dict:
    """A touchpoint as the store keeps it. A delay notice (a kind timed `from: late`, the only
    ones with an anchor) that already went out may go again for a later expected date (a
    second delay), but not before `delays.renotify_after`.

    One already past its expiry is kept as dropped, with the reason (`aftercare due` shows it);
    so is one of a history order that fell due before the import."""
    repeatable = touchpoint.anchor is not None
    wanted: dict = {"kind": touchpoint.kind, "flow": touchpoint.flow, "due_at": iso(touchpoint.due_at),
                    "anchor": iso(touchpoint.anchor), "repeatable": repeatable}
    kind = settings.schedule.touchpoints[touchpoint.kind]
    due = touchpoint.due_at
    started = parse_iso(current.started_at) if current else None
    if repeatable and started is not None:
        due = max(touchpoint.due_at, started + settings.delays.renotify_after)
        wanted["due_at"] = iso(due)
    expires_at = touchpoint.due_at + kind.expires
    wanted["expires_at"] = iso(expires_at)            # could not go out by then: dropped, never sent late
    event, at = anchor_event(kind.anchor, facts.purchased_at, facts.shipped_at, facts.delivered_at, facts.expected_at)
    if now >= expires_at:
        wanted.update(status="expired", why=too_old(touchpoint.kind, kind.expires, event, at, now), decided_at=iso(now))
    elif history and due <= now:
        wanted.update(status=HISTORY, why=history_skip(touchpoint.kind, due, event, at, now), decided_at=iso(now))
    return wanted


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
