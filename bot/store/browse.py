"""What `aftercare browse` tells Datasette about the store: a description of every table and
column, and the canned queries a shop asks most. The SQL lives here, in bot/store, like the rest."""
from __future__ import annotations

from typing import Any

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "customers": ("One row per customer of the shop (from the order files).", {
        "ref": "The shop's own customer reference", "name": "Full name", "email": "Email address",
        "timezone": "IANA time zone for quiet hours (empty: the shop's)", "language": "Preferred language",
        "created_at": "First seen (UTC)", "forgotten_at": "When `aftercare customer forget` erased them (UTC)"}),
    "identities": ("Where a customer can be reached: one row per (channel, address), with consent.", {
        "channel": "The channel's name (bot/channels/)", "address": "Chat id or user id on that channel (empty until linked)",
        "reachable": "0 once the platform refused a message (blocked the bot, account gone)",
        "consent": "1 when the customer agreed to hear from us", "opted_out": "1 after STOP / opt-out",
        "language_code": "Language the platform reported", "linked_at": "When the address was bound (UTC)",
        "lookup_tried_at": "When the channel's lookup by email was tried (UTC)"}),
    "orders": ("Orders as imported from CSV, JSON or the webhook.", {
        "order_id": "The shop's order number", "channel": "Channel the order file named for the customer",
        "status": "placed, shipped, delivered, cancelled or returned", "purchased_at": "Purchase time (UTC)",
        "referral_code": "The promoter's referral code the order was placed with, if any",
        "shipped_at": "Shipping time (UTC)", "delivered_at": "Delivery time (UTC); check-ins count from here",
        "updated_at": "Last import that changed it (UTC)"}),
    "line_items": ("The products of each order.", {
        "product": "Product name", "sku": "Stock keeping unit", "category": "Category (per-category schedules)",
        "quantity": "How many", "price": "Unit price"}),
    "touchpoints": ("Messages an order is due for: thank-you, check-in, NPS, replenishment.", {
        "kind": "thank_you, checkin, nps or replenishment", "flow": "The dialog flow it starts",
        "due_at": "When it falls due (UTC)", "status": "pending, held, started, skipped or cancelled",
        "held_reason": "Why it waits (quiet hours, weekly cap, ...)", "started_at": "When it started (UTC)"}),
    "conversations": ("One conversation per touchpoint or customer-started chat, with its state.", {
        "flow": "Current flow", "step": "Current step", "slots": "What the conversation established (JSON)",
        "owner": "bot, or human while an agent has it", "status": "active, waiting or closed",
        "wake_at": "Next reminder, close or check-back (UTC)", "wake_kind": "What happens at wake_at",
        "question_message_id": "The message whose buttons are the open question"}),
    "messages": ("Every message in and out of a conversation.", {
        "direction": "in (from the customer) or out", "sender": "customer, bot or agent", "text": "The words",
        "buttons": "Buttons offered (JSON)", "platform_message_id": "The platform's id of the message",
        "at": "When (UTC)"}),
    "responses": ("Scores and written feedback: CSAT 1-5, NPS 0-10, CES 1-7, text.", {
        "metric": "csat, nps, ces, text or testimonial", "score": "The score (empty for text)",
        "text": "The customer's own words with it", "intent": "What the NLU understood",
        "entities": "Entities the NLU found (JSON)", "at": "When it was given (UTC)"}),
    "escalations": ("Support cases handed to people in the support channel.", {
        "reason": "product_problem, delivery_problem, return_refund, human or low_score",
        "problem_type": "damaged, defective, missing_part, ... when the customer named it",
        "request": "What they asked for beside the problem: refund, replacement, exchange, return, repair",
        "status": "open, claimed or resolved", "agent": "Support agent (desk user id) who claimed it",
        "text": "What the customer wrote", "photos": "Photos they sent (JSON)", "opened_at": "Opened (UTC)",
        "claimed_at": "Claimed (UTC)", "first_reply_at": "First agent reply (UTC)", "resolved_at": "Resolved (UTC)",
        "sla_due_at": "A reply was due by (UTC)", "sla_reminded": "1 once the support group was pinged",
        "nudged": "1 once the claiming agent was nudged"}),
    "consent_ledger": ("Every consent change, who or what made it, and when.", {
        "action": "opt_in, opt_out, link (by the customer), admin_link, address_found (a lookup by email), unlink (the chat went to someone else) or consent_withdrawn", "source": "What made the change", "at": "When (UTC)"}),
    "contacts": ("Proactive contacts: what the weekly cap counts.", {"kind": "The flow that made contact"}),
    "erasure_log": ("Every erasure (customer forget, free-text retention): who ran it, when, how many rows; "
                    "never the erased data.", {
        "kind": "forget or retention", "actor": "Who ran it", "at": "When (UTC)", "counts": "Rows changed per table (JSON)"}),
    "suppressed": ("Hashes that keep forgotten customers from being contacted or re-created.", {
        "hash": "sha256 of ref, email or channel address", "at": "When (UTC)"}),
    "outbox": ("Every message to send, written with its cause; the dispatcher sends and records attempts.", {
        "status": "pending, sending, sent, failed, unreachable or cancelled", "attempts": "Send attempts so far",
        "last_error": "Why the last attempt failed", "not_before": "Earliest send time (UTC)"}),
    "referral_codes": ("The referral ask: one row per promoter asked (once ever), with their code.", {
        "code": "Their referral code; an order carrying it (orders.referral_code) is a referral",
        "link": "The personal link they were sent (empty: invited to a testimonial only)",
        "given_at": "When they were asked (UTC)"}),
    "gift_codes": ("Gift codes milestones gave: who got which code, at which milestone.", {
        "kind": "The milestone's touchpoint kind (anniversary, tenth_order, ...)", "code": "The code sent",
        "given_at": "When (UTC)"}),
}
HIDDEN = ("processed_events", "used_links", "fulfillment_versions", "_sqlite_migrations")

QUERIES: dict[str, dict[str, str]] = {
    "open_cases": {
        "title": "Open cases",
        "description": "Cases nobody has resolved yet, oldest first, with how long they have waited.",
        "sql": """select e.id as case_id, e.order_id, c.name as customer, e.reason, e.problem_type, e.status, e.agent,
       e.opened_at, e.sla_due_at, e.first_reply_at is null and e.sla_due_at < strftime('%Y-%m-%dT%H:%M:%f', 'now')
       as past_sla, e.text
from escalations e left join customers c on c.id = e.customer_id
where e.status != 'resolved' order by e.opened_at""",
    },
    "low_scores_this_week": {
        "title": "Low scores this week",
        "description": "CSAT 1-2 and NPS 0-6 since Monday (or since the date you give), newest first.",
        "sql": """select r.at, c.ref as customer, c.name, r.order_id, r.sku, r.metric, r.score, r.text,
       (select e.status from escalations e where e.conversation_id = r.conversation_id order by e.id desc limit 1)
       as case_status
from responses r left join customers c on c.id = r.customer_id
where ((r.metric = 'csat' and r.score <= 2) or (r.metric = 'nps' and r.score <= 6))
  and r.at >= coalesce(nullif(:since, ''), date('now', 'weekday 0', '-6 days'))
order by r.at desc""",
    },
    "skus_by_csat": {
        "title": "SKUs by CSAT",
        "description": "Every SKU with CSAT answers, the worst first: mean, share of 4-5, answers and cases.",
        "sql": """select r.sku, count(*) as answers, round(avg(r.score), 2) as mean_csat,
       round(1.0 * sum(r.score >= 4) / count(*), 4) as satisfied,
       (select count(*) from escalations e join conversations cv on cv.id = e.conversation_id
        where cv.sku = r.sku) as cases
from responses r where r.metric = 'csat' and r.score is not null
group by r.sku order by avg(r.score), count(*) desc""",
    },
    "customer_history": {
        "title": "A customer's history",
        "description": "Everything that happened with one customer (their ref, e.g. C-001), in order.",
        "sql": """with who as (select id from customers where ref = :ref)
select o.purchased_at as at, 'order' as what, o.order_id as detail, o.status as outcome from orders o
where o.customer_id in (select id from who)
union all
select m.at, 'message ' || m.direction, m.text, m.sender from messages m
join conversations cv on cv.id = m.conversation_id where cv.customer_id in (select id from who)
union all
select r.at, r.metric, coalesce(r.text, ''), r.score from responses r where r.customer_id in (select id from who)
union all
select e.opened_at, 'case ' || e.id, coalesce(e.problem_type, e.reason), e.status from escalations e
where e.customer_id in (select id from who)
union all
select l.at, 'consent', l.action, l.source from consent_ledger l where l.customer_id in (select id from who)
order by at""",
    },
}


# Tables and canned queries that hold names, addresses or the customers' own words: refused
# unless `aftercare browse --personal` asks for them (and with them, arbitrary SQL).
PERSONAL_TABLES = ("customers", "identities", "messages", "responses", "escalations", "outbox", "conversations",
                   "consent_ledger", "suppressed", "fix_notices", "referral_codes", "gift_codes", "used_links",
                   "desk_actions", "goodwill_codes",      # agents' notes on a case; codes a customer can spend
                   "fulfillment_versions")                # the shop's fulfilment ids: bookkeeping, not figures
PERSONAL_QUERIES = ("open_cases", "low_scores_this_week", "customer_history")


def datasette_metadata(database: str, personal: bool = True) -> dict[str, Any]:
    """Datasette's metadata for the store opened under the name `database`; without `personal`,
    the personal tables and queries are denied to everyone (`allow: false`)."""
    tables: dict[str, Any] = {name: {"description": text, "columns": columns}
                              for name, (text, columns) in TABLES.items()}
    tables.update({name: {"hidden": True} for name in HIDDEN})
    queries: dict[str, Any] = {name: dict(query) for name, query in QUERIES.items()}
    if not personal:
        for name in PERSONAL_TABLES:
            tables.setdefault(name, {}).update({"allow": False, "hidden": True})
        for name in PERSONAL_QUERIES:
            queries[name]["allow"] = False
    return {
        "title": "Aftercare store",
        "description": "What customers told the shop after their purchase: scores, words, cases. Read-only."
                       + ("" if personal else " Personal tables are off (aftercare browse --personal)."),
        "databases": {database: {"tables": tables, "queries": queries}},
    }
