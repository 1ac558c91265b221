"""Build the engine's read-only Context (template variables, guards' facts) from the store.

The template variables are the vocabulary's: each registered `Variable` computes its value from
the same `Facts`, so a new variable is one registration, never an edit here.
"""
from __future__ import annotations

from typing import Optional

from bot.config import Settings
from bot.engine.state import Context, Timing
from bot.engine.vocabulary import Facts, Vocabulary
from bot.store.store import Store


def timing(settings: Settings) -> Timing:
    schedule = settings.schedule
    return Timing(schedule.reminder_after, schedule.close_after, schedule.not_used_yet_delay)


def build_context(store: Store, settings: Settings, customer_id: int, order_id: Optional[str],
                  sku: Optional[str], vocabulary: Vocabulary) -> Context:
    """Everything a flow may mention about this customer, order and product."""
    item = _item(store, order_id, sku)
    facts = Facts(customer=store.customers.get(customer_id), item=item, order_id=order_id,
                  sku=item.get("sku") or sku or "", category=item.get("category") or "", settings=settings,
                  order=(store.orders.get(order_id) if order_id else None) or {})
    has_case = store.cases.active_for_customer(customer_id) is not None
    return Context(variables=vocabulary.values(facts), timing=timing(settings), has_open_case=has_case,
                   upsell_offered_before=store.conversations.upsell_offered_before(customer_id),
                   earlier=store.conversations.order_facts(customer_id, order_id) if order_id else {})


def _item(store: Store, order_id: Optional[str], sku: Optional[str]) -> dict:
    if not order_id:
        return {}
    items = store.orders.items(order_id)
    for item in items:
        if item["sku"] == sku:
            return item
    return items[0] if items else {}
