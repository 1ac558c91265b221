"""Build the engine's read-only Context (template variables, guards' facts) from the store."""
from __future__ import annotations

from typing import Any, Optional

from bot.config import Settings
from bot.engine.machine import Context, Timing
from bot.store.store import Store


def timing(settings: Settings) -> Timing:
    schedule = settings.schedule
    return Timing(schedule.reminder_after, schedule.close_after, schedule.not_used_yet_delay)


def build_context(store: Store, settings: Settings, customer_id: int, order_id: Optional[str],
                  sku: Optional[str]) -> Context:
    """Everything a flow may mention about this customer, order and product."""
    customer = store.customers.get(customer_id)
    order = (store.orders.get(order_id) if order_id else None) or {}
    item = _item(store, order_id, sku)
    sku = item.get("sku") or sku or ""
    category = item.get("category") or ""
    name = customer.get("name") or ""
    offer = settings.upsell.skus.get(sku)
    refill = settings.upsell.replenishment.get(sku)
    variables: dict[str, Any] = {
        "customer.name": name,
        "customer.first_name": name.split()[0] if name.split() else "there",
        "product.name": item.get("product") or "your order",
        "product.sku": sku,
        "product.category": category,
        "order.id": order_id or "",
        "review_url": settings.reviews.url_for(sku) if sku else settings.reviews.default_url,
        "upsell.offer": offer.offer if offer else (_refill_offer(refill, item) if refill else None),
        "upsell.url": offer.url if offer else (refill.url if refill else None),
        "faq": settings.faq.get(sku) or settings.faq.get(category),
        "checkback_days": max(1, round(settings.schedule.not_used_yet_delay.total_seconds() / 86400)),
        "shop.name": "our shop",
        "order.shipment_status": shipment_words(order.get("shipment_status")),
        "goodwill_code": settings.delays.code_for(category),
    }
    has_case = store.cases.active_for_customer(customer_id) is not None
    return Context(variables=variables, timing=timing(settings), has_open_case=has_case,
                   upsell_offered_before=store.conversations.upsell_offered_before(customer_id),
                   earlier=store.conversations.order_facts(customer_id, order_id) if order_id else {})


_SHIPMENT_WORDS = {
    "label_printed": "the label is printed, waiting for the carrier",
    "label_purchased": "the label is ready, waiting for the carrier",
    "confirmed": "the carrier has it",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "attempted_delivery": "the carrier tried to deliver it",
    "ready_for_pickup": "ready for pickup",
    "failure": "the carrier reported a problem, and we're on it",
    "delivered": "delivered",
}


def shipment_words(status: Optional[str]) -> str:
    """The carrier's latest status in words a customer reads (Shopify's shipment_status values)."""
    if not status:
        return "on its way"
    return _SHIPMENT_WORDS.get(status, status.replace("_", " "))


def _refill_offer(refill, item: dict) -> str:
    return refill.offer or f"a refill of {item.get('product') or 'it'}"


def _item(store: Store, order_id: Optional[str], sku: Optional[str]) -> dict:
    if not order_id:
        return {}
    items = store.orders.items(order_id)
    for item in items:
        if item["sku"] == sku:
            return item
    return items[0] if items else {}
