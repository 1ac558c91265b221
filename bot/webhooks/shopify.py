"""Shopify webhook payloads -> records in our own order shape (the one `orders import` reads),
which then go through the same row checks and the same upsert as a file. Pure: no I/O.

Where things come from (docs/going-live.md says the same for shop owners):
- order id: the order's `id` (fulfilments name it as `order_id`); customer: `shopify-<customer.id>`
  (a guest checkout without a customer record: its email), name, email, `customer_locale`.
- line items: `title`, `sku` (empty -> `variant-<variant_id>`), `quantity`, `price`; the category
  is the item's `product_type` when the payload carries it, else a line-item property `category`,
  else "general". Gift cards are skipped (nothing arrives to check in about).
- chat contact: the order's `note_attributes` (cart attributes the storefront sets)
  `aftercare_channel` (a channel name) and `aftercare_address` (its chat or user id); without
  them `webhooks.shopify_channel`, and the customer links by the channel's deep link.
- referral: the note attribute `referral_code` (the storefront keeps the code of the personal
  link the customer came through, https://shop.example/r/CODE): the order counts as referred.
- consent: `buyer_accepts_marketing` or `customer.email_marketing_consent.state == subscribed`
  (a chat address in the note attributes is written by the buyer: it proposes a contact for a
  new customer and grants nothing). It is never withdrawn here: a customer who opted in in the
  chat is not opted out by the shop's marketing flag (STOP in the chat does that); and an
  existing customer's identity is never rebound or given consent by order data at all (only
  the signed deep link or `aftercare customer link` bind one: bot/importing.py).
- timestamps and status: `created_at`; the earliest fulfilment's `created_at` is shipped_at; a
  fulfilment whose `shipment_status` is `delivered` gives delivered_at (its `updated_at`);
  `estimated_delivery_at` is the carrier's estimate; `cancelled_at` cancels.
Facts the store already has and a payload leaves out (a later delivery date, an estimate) are
kept: webhooks arrive out of order, and a fact learned is not unlearned by an older payload.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

from bot.base.errors import AftercareError
from bot.base.clock import iso
from bot.orders.files import OrderRow, parse_moment

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/fulfilled", "orders/cancelled"})
FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
TOPICS = ORDER_TOPICS | FULFILLMENT_TOPICS
CHANNEL_ATTRIBUTE = "aftercare_channel"
ADDRESS_ATTRIBUTE = "aftercare_address"
REFERRAL_ATTRIBUTE = "referral_code"


class Unmappable(AftercareError, ValueError):
    """The payload cannot become an order: `field` names the place, `reason` the problem."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Version:
    """What the signature covers that tells one state of a resource from another: the payload's
    own id and `updated_at`. `key` is the delivery id (a repeat of the same state, under any
    X-Shopify-Webhook-Id, is the same delivery); `at` orders states of one order."""

    key: str
    at: datetime
    updated_at: str
    resource: str = ""


@dataclass(frozen=True)
class Mapped:
    """The order id a payload is about and its records in our order shape."""

    order_id: str
    records: list[dict]


def order_id_of(topic: str, payload: Any) -> str:
    """The order a payload is about (to look up what the store already holds)."""
    if not isinstance(payload, Mapping):
        raise Unmappable("body", f"expected a JSON object, got {type(payload).__name__}")
    key = "order_id" if topic in FULFILLMENT_TOPICS else "id"
    value = payload.get(key)
    if value is None or isinstance(value, (bool, dict, list)) or str(value).strip() == "":
        raise Unmappable(key, "missing")
    return str(value)


def version_of(topic: str, payload: Any) -> Version:
    """The signed version of a payload: `order:<id>@<updated_at>` (or `fulfillment:...`)."""
    if not isinstance(payload, Mapping):
        raise Unmappable("body", f"expected a JSON object, got {type(payload).__name__}")
    ident = payload.get("id")
    if ident is None or isinstance(ident, (bool, dict, list, float)) or str(ident).strip() == "":
        raise Unmappable("id", "missing")
    at = _moment(payload.get("updated_at"), "updated_at")
    if at is None:
        raise Unmappable("updated_at", "missing (it tells this state of the resource from a replay of an older one)")
    kind = "fulfillment" if topic in FULFILLMENT_TOPICS else "order"
    resource = f"{kind}:{str(ident).strip()}"
    return Version(f"{resource}@{iso(at)}", at, iso(at) or "", resource)


def map_order(payload: Mapping[str, Any], stored: list[OrderRow], default_channel: str) -> Mapped:
    """orders/create, orders/updated, orders/fulfilled, orders/cancelled -> records."""
    order_id = order_id_of("orders/create", payload)
    before = stored[0] if stored else None
    customer = _object(payload, "customer")
    ref = _customer_ref(payload, customer)
    channel, address = _contact(payload, before, default_channel)
    fulfillments = [(f"fulfillments[{i}]", f) for i, f in enumerate(_list(payload, "fulfillments"))]
    created = [_moment(f.get("created_at"), f"{where}.created_at") for where, f in fulfillments
               if _fulfillment_counts(f)]
    shipped = _first_known(min((c for c in created if c), default=None), before.shipped_at if before else None)
    if shipped is None and payload.get("fulfillment_status") in ("fulfilled", "partial"):
        shipped = _moment(payload.get("updated_at") or payload.get("created_at"), "updated_at")
    delivered, expected, shipment = _tracking(fulfillments)
    header = {
        "order_id": order_id, "customer_ref": ref,
        "customer_name": _name(customer, payload), "email": payload.get("email") or customer.get("email"),
        "channel": channel, "address": address, "language": _language(payload.get("customer_locale")),
        "purchased_at": payload.get("created_at") or payload.get("processed_at"),
        "shipped_at": iso(shipped),
        "delivered_at": iso(_first_known(delivered, before.delivered_at if before else None)),
        "expected_at": iso(_first_known(expected, before.expected_at if before else None)),
        "shipment_status": shipment or (before and before.shipment_status),
        "consent": _consent(payload, customer, address, before),
        "referral_code": _attributes(payload).get(REFERRAL_ATTRIBUTE) or (before and before.referral_code) or None,
    }
    header["status"] = _status(payload.get("cancelled_at"), header)
    items = _list(payload, "line_items")
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise Unmappable(f"line_items[{index}]", f"expected an object, got {type(item).__name__}")
    items = [item for item in items if not item.get("gift_card")]
    if not items:
        raise Unmappable("line_items", "no line items to follow up (gift cards only, or none)")
    records = []
    seen: dict[str, dict] = {}
    for index, item in enumerate(items):
        sku = _sku(item, index)
        if sku in seen:                      # the same SKU twice (two variants share it): one item
            seen[sku]["quantity"] += _int(item.get("quantity"), f"line_items[{index}].quantity")
            continue
        record = {**header, "product": item.get("title") or item.get("name"), "sku": sku,
                  "category": _category(item), "quantity": _int(item.get("quantity"), f"line_items[{index}].quantity"),
                  "price": item.get("price")}
        seen[sku] = record
        records.append(record)
    return Mapped(order_id, records)


def map_fulfillment(payload: Mapping[str, Any], stored: list[OrderRow]) -> Optional[Mapped]:
    """fulfillments/create, fulfillments/update -> the stored order's records with the
    shipment facts applied; None when there is nothing to apply (a cancelled fulfilment)."""
    order_id = order_id_of("fulfillments/create", payload)
    if not stored:
        raise Unmappable("order_id", f"order {order_id} is not known here yet (orders/create comes first; "
                                     "Shopify retries this delivery)")
    if not _fulfillment_counts(payload):
        return None
    before = stored[0]
    shipped = _first_known(before.shipped_at, _moment(payload.get("created_at"), "created_at"))
    delivered, expected, shipment = _tracking([("", payload)])
    changes = {
        "shipped_at": iso(shipped),
        "delivered_at": iso(_first_known(delivered, before.delivered_at)),
        "expected_at": iso(_first_known(expected, before.expected_at)),
        "shipment_status": shipment or before.shipment_status,
    }
    records = []
    for row in stored:
        record = {**row.record(), **changes}
        record["status"] = _status(None, record) if row.status not in ("cancelled", "returned") else row.status
        records.append(record)
    return Mapped(order_id, records)


# ---- pieces ---------------------------------------------------------------------------

def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Unmappable(key, f"expected an object, got {type(value).__name__}")
    return value


def _list(payload: Mapping[str, Any], key: str) -> list:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unmappable(key, f"expected a list, got {type(value).__name__}")
    return value


def _customer_ref(payload: Mapping[str, Any], customer: Mapping[str, Any]) -> str:
    if customer.get("id") is not None:
        return f"shopify-{customer['id']}"
    email = payload.get("email") or payload.get("contact_email")
    if email:
        return f"shopify-{email}"
    raise Unmappable("customer", "no customer id and no email: nobody to follow up with")


def _name(customer: Mapping[str, Any], payload: Mapping[str, Any]) -> Optional[str]:
    name: Optional[str] = " ".join(str(part) for part in (customer.get("first_name"), customer.get("last_name")) if part)
    if not name:
        billing = payload.get("billing_address")
        name = billing.get("name") if isinstance(billing, Mapping) else None
    return name or None


def _attributes(payload: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for index, attribute in enumerate(_list(payload, "note_attributes")):
        if not isinstance(attribute, Mapping) or "name" not in attribute:
            raise Unmappable(f"note_attributes[{index}]", "expected {name, value}")
        found[str(attribute["name"]).strip().lower()] = str(attribute.get("value") or "").strip()
    return found


def _contact(payload: Mapping[str, Any], before: Optional[OrderRow], default: str) -> tuple[str, Optional[str]]:
    attributes = _attributes(payload)
    channel = attributes.get(CHANNEL_ATTRIBUTE) or (before.channel if before else default)
    address = attributes.get(ADDRESS_ATTRIBUTE) or (before.address if before else None)
    return channel.lower(), address or None


def _consent(payload: Mapping[str, Any], customer: Mapping[str, Any], address: Optional[str],
             before: Optional[OrderRow]) -> bool:
    marketing = customer.get("email_marketing_consent")
    subscribed = isinstance(marketing, Mapping) and marketing.get("state") == "subscribed"
    # A chat address in the cart attributes is the buyer's word, not the address owner's: it
    # proposes a contact (for a new customer only: bot/importing.py) but consents to nothing.
    return bool(payload.get("buyer_accepts_marketing") is True or subscribed
                or (before is not None and before.consent))


def _language(locale: Any) -> Optional[str]:
    return str(locale).strip() or None if locale else None


def _sku(item: Mapping[str, Any], index: int) -> str:
    sku = str(item.get("sku") or "").strip()
    if sku:
        return sku
    for key in ("variant_id", "product_id", "id"):
        if item.get(key) is not None:
            return f"{key.split('_')[0]}-{item[key]}"
    raise Unmappable(f"line_items[{index}].sku", "empty, and no variant_id or id to stand in for it")


def _category(item: Mapping[str, Any]) -> str:
    if item.get("product_type"):
        return str(item["product_type"]).strip().lower()
    properties = item.get("properties") or []
    if not isinstance(properties, list):
        raise Unmappable("line_items[].properties", f"expected a list, got {type(properties).__name__}")
    for prop in properties:
        if isinstance(prop, Mapping) and str(prop.get("name", "")).strip().lower() in ("category", "_category"):
            return str(prop.get("value") or "general").strip().lower() or "general"
    return "general"


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise Unmappable(field, f"{value!r} is not a whole number")
    return int(value)


def _fulfillment_counts(fulfillment: Any) -> bool:
    """A fulfilment that shipped something (not cancelled, errored or failed)."""
    return isinstance(fulfillment, Mapping) and fulfillment.get("status") not in ("cancelled", "error", "failure")


def _moment(value: Any, field: str) -> Optional[datetime]:
    """An ISO timestamp of the payload as an aware UTC datetime (None when absent)."""
    if value is None or value == "":
        return None
    try:
        return parse_moment(str(value))
    except ValueError as exc:
        raise Unmappable(field, str(exc)) from None


def _first_known(*values: Optional[datetime]) -> Optional[datetime]:
    return next((value for value in values if value), None)


def _tracking(fulfillments: list[tuple[str, Any]]) -> tuple[Optional[datetime], Optional[datetime], Optional[str]]:
    """(delivered_at, carrier estimate, latest shipment status) over the fulfilments."""
    delivered = expected = None
    status = None
    for where, fulfillment in fulfillments:
        if not _fulfillment_counts(fulfillment):
            continue
        at = f"{where}." if where else ""
        if fulfillment.get("shipment_status"):
            status = str(fulfillment["shipment_status"]).lower()
        expected = _moment(fulfillment.get("estimated_delivery_at"), f"{at}estimated_delivery_at") or expected
        if fulfillment.get("shipment_status") == "delivered":
            delivered = (_moment(fulfillment.get("updated_at"), f"{at}updated_at")
                         or _moment(fulfillment.get("created_at"), f"{at}created_at"))
    return delivered, expected, status


def _status(cancelled_at: Any, record: Mapping[str, Any]) -> str:
    if cancelled_at:
        return "cancelled"
    if record.get("delivered_at"):
        return "delivered"
    if record.get("shipped_at"):
        return "shipped"
    return "placed"
