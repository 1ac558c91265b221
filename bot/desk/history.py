"""What the desk knows about a customer beyond this case: their orders, scores, cases and the
last conversation (the History button, shown only to the agent who asked), and the one line
the case card uses to name a repeat customer."""
from __future__ import annotations

from typing import Optional

from bot.base.kinds import CaseStatus
from bot.store.rows import CaseRow
from bot.store.store import Store

MAX_LINES = 12          # per part: an agent reads a glance, not a ledger


def repeat_line(store: Store, case: CaseRow) -> Optional[str]:
    """"Repeat customer: 3 orders, 1 earlier case" (None for a first order and no other case)."""
    orders = store.orders.count_for_customer(case.customer_id)
    earlier = [c for c in store.cases.for_customer(case.customer_id) if c.id != case.id]
    if orders <= 1 and not earlier:
        return None
    parts = [f"{orders} orders"]
    if earlier:
        parts.append(f"{len(earlier)} earlier case{'s' if len(earlier) != 1 else ''}")
    return "Repeat customer: " + ", ".join(parts)


def history_text(store: Store, case: CaseRow) -> str:
    """The customer's past orders, scores, cases and last conversation, newest first."""
    customer = store.customers.get(case.customer_id)
    lines = [f"History of {customer.name or customer.ref} (case {case.id})"]
    order_ids = store.orders.ids_of_customer(case.customer_id)
    lines.append(f"Orders ({len(order_ids)}):")
    for order_id in list(reversed(order_ids))[:MAX_LINES]:
        order = store.orders.get(order_id)
        items = ", ".join(f"{i.product} ({i.sku})" for i in store.orders.items(order_id)) or "no items"
        when = (order.purchased_at or "")[:10] if order else ""
        status = order.status if order else "?"
        lines.append(f"  {order_id} {when} {status}: {items}")
    scores = [r for r in store.conversations.responses(case.customer_id) if r.score is not None]
    lines.append(f"Scores ({len(scores)}):" if scores else "Scores: none")
    for r in list(reversed(scores))[:MAX_LINES]:
        lines.append(f"  {r.at[:10]} {r.metric.upper()} {r.score}" + (f" ({r.sku})" if r.sku else ""))
    cases = [c for c in store.cases.for_customer(case.customer_id) if c.id != case.id]
    lines.append(f"Earlier cases ({len(cases)}):" if cases else "Earlier cases: none")
    for c in list(reversed(cases))[:MAX_LINES]:
        state = "resolved" if c.status == CaseStatus.RESOLVED else c.status.value
        what = c.reason + (f" / {c.problem_type}" if c.problem_type else "")
        lines.append(f"  case {c.id} {c.opened_at[:10]} {what}: {state}")
    codes = store.desk.goodwill_of_customer(case.customer_id)
    if codes:
        lines.append(f"Goodwill codes given: {', '.join(codes)}")
    conversations = [c for c in store.conversations.for_customer(case.customer_id)
                     if c.id != case.conversation_id]
    if conversations:
        last = conversations[-1]
        lines.append(f"Last conversation ({last.flow}, {last.created_at[:10]}):")
        for m in store.conversations.last_messages(last.id, 6):
            lines.append(f"  {m.sender}: {m.text}")
    else:
        lines.append("Last conversation: this is the first")
    return "\n".join(lines)
