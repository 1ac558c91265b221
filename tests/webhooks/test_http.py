"""The order webhooks over real HTTP: Shopify-shaped payloads (tests/fixtures/shopify, shaped
like the samples in Shopify's webhook documentation) and our own signed JSON, posted to the
running server on an ephemeral port; each test asserts what the store holds afterwards."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from bot.live.health import start_health
from bot.base.clock import SimClock
from bot.live.core import build_core
from bot.store.rows import TouchpointRow
from bot.store.store import Store
from bot.webhooks.http import OrderWebhooks
from bot.webhooks.signing import shopify_hmac, sign_orders
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
SHOPIFY_SECRET = "shpss_test_secret"
ORDERS_SECRET = "our-own-orders-secret"
ORDER = "820982911946154508"
NOW = datetime(2022, 1, 3, 12, 0, tzinfo=timezone.utc)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


class Server:
    def __init__(self, store: Store, url: str, clock: SimClock) -> None:
        self.store, self.url, self.clock = store, url, clock
        self.ids = iter(range(1, 10_000))

    async def shopify(self, topic: str, body: bytes, *, webhook_id: str | None = None, secret: str = SHOPIFY_SECRET,
                      hmac: str | None = None) -> tuple[int, dict]:
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": hmac or shopify_hmac(secret.encode(), body),
                   "X-Shopify-Webhook-Id": webhook_id or f"wh-{next(self.ids)}",
                   "X-Shopify-Shop-Domain": "jsmith.myshopify.com", "Content-Type": "application/json"}
        return await self._post("/webhooks/shopify", body, headers)

    async def orders(self, body: bytes, *, at: int | None = None, secret: str = ORDERS_SECRET,
                     signature: str | None = None) -> tuple[int, dict]:
        stamp = at if at is not None else int(self.clock.now().timestamp())
        headers = {"X-Aftercare-Signature": signature or sign_orders(secret.encode(), body, stamp),
                   "Content-Type": "application/json"}
        return await self._post("/webhooks/orders", body, headers)

    async def _post(self, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url + path, data=body, headers=headers) as response:
                try:
                    return response.status, await response.json(content_type=None)
                except json.JSONDecodeError:
                    return response.status, {}

    def snapshot(self) -> dict:
        db = self.store.db
        return {table: list(db[table].rows) for table in
                ("customers", "identities", "orders", "line_items", "touchpoints", "processed_events", "consent_ledger")}

    def touchpoints(self) -> dict[tuple[str, str], TouchpointRow]:
        return {(t.sku, t.kind): t for t in self.store.orders.touchpoints(ORDER)}


@pytest.fixture
async def server():
    settings = make_settings(webhooks={"shopify_secret": SHOPIFY_SECRET, "orders_secret": ORDERS_SECRET,
                                       "max_body_bytes": 64_000})
    store = Store.memory()
    clock = SimClock(NOW)
    core = build_core(settings, store, TableParser(), clock, {})
    runner = await start_health(core, port=0, webhooks=OrderWebhooks(store, settings, clock))
    port = runner.addresses[0][1]
    try:
        yield Server(store, f"http://127.0.0.1:{port}", clock)
    finally:
        await runner.cleanup()
        store.close()


# ---- Shopify ------------------------------------------------------------------------------

async def test_orders_create_becomes_an_order_with_customer_items_contact_and_consent(server):
    status, answer = await server.shopify("orders/create", fixture("orders_create"))
    assert (status, answer["inserted"]) == (200, 1)
    order = server.store.orders.get(ORDER)
    assert order.status == "placed" and order.channel == "telegram"
    assert order.purchased_at == "2022-01-01T00:00:00.000+00:00"        # 19:00 -05:00
    customer = server.store.customers.get(order.customer_id)
    assert (customer.ref, customer.name, customer.email, customer.language) == (
        "shopify-115310627314723954", "John Smith", "jon@example.com", "en")
    identity, = server.store.customers.identities_of(order.customer_id)
    assert (identity.channel, identity.address, identity.consent) == ("telegram", "512340999", True)
    items = [(i.sku, i.product, i.category, i.quantity, i.price) for i in server.store.orders.items(ORDER)]
    assert items == [("SKU2006-001", "Aviator sunglasses", "general", 1, 89.99),
                     ("SKU2006-020", "Mid-century lounger", "general", 1, 159.99)]
    assert {kind for _, kind in server.touchpoints()} == {"thank_you", "anniversary"}   # a first order


async def test_fulfilment_then_tracking_then_delivery_move_the_schedule(server):
    await server.shopify("orders/create", fixture("orders_create"))
    status, _ = await server.shopify("fulfillments/create", fixture("fulfillments_create"))
    assert status == 200
    order = server.store.orders.get(ORDER)
    assert (order.status, order.shipped_at) == ("shipped", "2022-01-02T15:00:00.000+00:00")
    points = server.touchpoints()
    # shipped + expected_transit (5d) + grace (12h); check-in at shipped + 5d + 4d
    assert points[("SKU2006-001", "delay_notice")].due_at == "2022-01-08T03:00:00.000+00:00"
    assert points[("SKU2006-001", "checkin")].due_at == "2022-01-11T15:00:00.000+00:00"

    await server.shopify("fulfillments/update", fixture("fulfillments_update_in_transit"))
    order = server.store.orders.get(ORDER)
    assert (order.shipment_status, order.expected_at) == ("in_transit", "2022-01-06T23:00:00.000+00:00")
    points = server.touchpoints()
    assert points[("SKU2006-001", "delay_notice")].due_at == "2022-01-07T11:00:00.000+00:00"
    assert points[("SKU2006-001", "checkin")].due_at == "2022-01-10T23:00:00.000+00:00"

    await server.shopify("fulfillments/update", fixture("fulfillments_update_delivered"))
    order = server.store.orders.get(ORDER)
    assert (order.status, order.delivered_at) == ("delivered", "2022-01-09T19:30:00.000+00:00")
    points = server.touchpoints()
    assert points[("SKU2006-001", "delay_notice")].status == "cancelled"
    assert points[("SKU2006-001", "checkin")].due_at == "2022-01-13T19:30:00.000+00:00"    # real delivery + 4d


async def test_a_replayed_older_fulfilment_state_is_refused_and_changes_nothing(server):
    await server.shopify("orders/create", fixture("orders_create"))
    await server.shopify("fulfillments/update", fixture("fulfillments_update_delivered"))
    before = server.snapshot()
    # the in-transit state (updated 01-04) arrives after the delivered one (01-09): a replay
    status, answer = await server.shopify("fulfillments/update", fixture("fulfillments_update_in_transit"))
    assert status == 409 and answer["field"] == "updated_at" and "older than the fulfillment held" in answer["reason"]
    assert server.store.orders.get(ORDER).shipment_status == "delivered"
    assert server.snapshot() == before


async def test_orders_fulfilled_ships_and_orders_updated_adds_an_item(server):
    await server.shopify("orders/create", fixture("orders_create"))
    await server.shopify("orders/updated", fixture("orders_updated"))
    assert [i.sku for i in server.store.orders.items(ORDER)] == ["SKU2006-001", "SKU2006-020", "SKU2006-035"]
    await server.shopify("orders/fulfilled", fixture("orders_fulfilled"))
    order = server.store.orders.get(ORDER)
    assert (order.status, order.shipped_at) == ("shipped", "2022-01-02T15:00:00.000+00:00")


async def test_a_late_orders_updated_does_not_forget_the_delivery(server):
    # fulfillments/update arrived before we knew the order: refused (Shopify retries), nothing written
    status, _ = await server.shopify("fulfillments/update", fixture("fulfillments_update_delivered"))
    assert status == 422
    await server.shopify("orders/create", fixture("orders_create"))
    assert server.store.orders.get(ORDER).delivered_at is None
    await server.shopify("fulfillments/update", fixture("fulfillments_update_delivered"))
    await server.shopify("orders/updated", fixture("orders_updated"))     # carries no fulfilments
    assert server.store.orders.get(ORDER).delivered_at == "2022-01-09T19:30:00.000+00:00"


async def test_cancellation_cancels_pending_touchpoints(server):
    await server.shopify("orders/create", fixture("orders_create"))
    await server.shopify("fulfillments/create", fixture("fulfillments_create"))
    status, _ = await server.shopify("orders/cancelled", fixture("orders_cancelled"))
    assert status == 200
    assert server.store.orders.get(ORDER).status == "cancelled"
    # what was pending is cancelled; what was already past its expiry at import stays dropped
    statuses = {t.status for t in server.touchpoints().values()}
    assert "cancelled" in statuses and statuses <= {"cancelled", "expired"}


async def test_a_repeated_delivery_changes_nothing(server):
    await server.shopify("orders/create", fixture("orders_create"), webhook_id="same")
    before = server.snapshot()
    status, answer = await server.shopify("orders/create", fixture("orders_create"), webhook_id="same")
    assert (status, answer) == (200, {"ok": True, "duplicate": True})
    assert server.snapshot() == before
    # the same payload under a new (unsigned) delivery id is the same delivery: the HMAC covers
    # the payload's id and updated_at, not X-Shopify-Webhook-Id
    status, answer = await server.shopify("orders/create", fixture("orders_create"))
    assert (status, answer) == (200, {"ok": True, "duplicate": True})
    assert server.snapshot() == before


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "no header"])
async def test_forged_shopify_deliveries_get_401_and_write_nothing(server, how):
    body = fixture("orders_create")
    before = server.snapshot()
    if how == "wrong secret":
        status, answer = await server.shopify("orders/create", body, secret="not-the-secret")
    elif how == "tampered body":
        status, answer = await server.shopify("orders/create", body.replace(b"89.99", b"0.01"),
                                              hmac=shopify_hmac(SHOPIFY_SECRET.encode(), body))
    else:
        status, answer = await server.shopify("orders/create", body, hmac=" ")
    assert (status, answer["field"]) == (401, "X-Shopify-Hmac-Sha256")
    assert server.snapshot() == before


async def test_unknown_topic_is_acknowledged_and_ignored(server):
    before = server.snapshot()
    status, answer = await server.shopify("products/create", b'{"id": 632910392, "title": "IPod Nano - 8GB"}')
    assert (status, answer) == (200, {"ok": True, "ignored": "products/create"})
    assert server.snapshot() == before


@pytest.mark.parametrize("body, field, reason", [
    (b"{not json", "body", "invalid JSON"),
    (b"[1, 2]", "body", "expected a JSON object"),
    (None, "customer", "no customer id and no email"),
    (b'{"id": 5, "updated_at": "2022-01-01T00:00:00Z", "created_at": "2022-01-01T00:00:00Z", "customer": {"id": 1}, "line_items": []}',
     "line_items", "no line items"),
    (b'{"id": 5, "updated_at": "2022-01-01T00:00:00Z", "created_at": "yesterday", "customer": {"id": 1}, "line_items": [{"title": "X", "sku": "X", '
     b'"quantity": 1}]}', "line_items[0]", 'purchased_at: "yesterday" is not a date'),
    (b'{"id": 5, "updated_at": "2022-01-01T00:00:00Z", "created_at": "2022-01-01T00:00:00Z", "customer": {"id": 1}, "line_items": [{"title": "X", '
     b'"sku": "X", "quantity": "two"}]}', "line_items[0].quantity", "is not a whole number"),
])
async def test_unmappable_shopify_payloads_get_422_naming_field_and_reason(server, body, field, reason, caplog):
    body = body if body is not None else fixture("orders_create_no_customer")
    before = server.snapshot()
    status, answer = await server.shopify("orders/create", body)
    assert status == 422
    assert answer["field"] == field and reason in answer["reason"]
    assert server.snapshot() == before
    assert any(field in r.getMessage() and "422" in r.getMessage() for r in caplog.records)


async def test_fulfilment_for_an_unknown_order_is_refused_for_a_retry(server):
    status, answer = await server.shopify("fulfillments/create", fixture("fulfillments_create"))
    assert (status, answer["field"]) == (422, "order_id")
    assert server.snapshot()["orders"] == []


async def test_oversized_deliveries_get_413_and_write_nothing(server):
    body = fixture("orders_create")[:-2] + b', "padding": "' + b"x" * 70_000 + b'"}'
    before = server.snapshot()
    status, _ = await server.shopify("orders/create", body)
    assert status == 413
    status, _ = await server.orders(body)
    assert status == 413
    assert server.snapshot() == before


# ---- our own signed JSON -------------------------------------------------------------------

def own_order(**changes) -> bytes:
    row = {"order_id": "W-1", "customer_ref": "C-9", "customer_name": "Rita Ora", "channel": "slack",
           "address": "U0RITA", "product": "Trail Runner 2 shoes", "sku": "TR2-44", "category": "footwear",
           "purchased_at": "2022-01-01T10:00:00Z", "shipped_at": "2022-01-02T10:00:00Z", **changes}
    return json.dumps({"orders": [row]}).encode()


async def test_own_signed_order_is_imported_like_a_file(server):
    status, answer = await server.orders(own_order())
    assert (status, answer["inserted"]) == (200, 1)
    order = server.store.orders.get("W-1")
    assert (order.status, order.channel) == ("shipped", "slack")
    kinds = {t.kind: t.due_at for t in server.store.orders.touchpoints("W-1")}
    assert kinds["checkin"] == "2022-01-11T10:00:00.000+00:00"       # shipped + 5d transit + 4d footwear

    status, answer = await server.orders(own_order(delivered_at="2022-01-05T10:00:00Z",
                                                   shipped_at="2022-01-02T10:00:00Z"), at=int(NOW.timestamp()) + 1)
    assert answer["updated"] == 1
    kinds = {t.kind: (t.due_at, t.status) for t in server.store.orders.touchpoints("W-1")}
    assert kinds["checkin"] == ("2022-01-09T10:00:00.000+00:00", "pending")
    assert kinds["delay_notice"][1] == "cancelled"

    status, answer = await server.orders(own_order(status="cancelled"), at=int(NOW.timestamp()) + 2)
    statuses = {t.status for t in server.store.orders.touchpoints("W-1")}
    assert "cancelled" in statuses and statuses <= {"cancelled", "expired"}      # expired: past it at import


@pytest.mark.parametrize("how", ["stale", "future", "wrong secret", "garbled"])
async def test_forged_or_stale_own_signatures_get_401_and_write_nothing(server, how):
    body = own_order()
    now = int(NOW.timestamp())
    kwargs = {"stale": {"at": now - 301}, "future": {"at": now + 301}, "wrong secret": {"secret": "guess"},
              "garbled": {"signature": "v1=abc"}}[how]
    status, answer = await server.orders(body, **kwargs)
    assert (status, answer["field"]) == (401, "X-Aftercare-Signature")
    assert server.snapshot()["orders"] == []


async def test_a_replayed_own_delivery_changes_nothing(server):
    body = own_order()
    signature = sign_orders(ORDERS_SECRET.encode(), body, int(NOW.timestamp()))
    assert (await server.orders(body, signature=signature))[0] == 200
    before = server.snapshot()
    server.clock.advance(timedelta(minutes=2))
    status, answer = await server.orders(body, signature=signature)
    assert (status, answer) == (200, {"ok": True, "duplicate": True})
    assert server.snapshot() == before
    server.clock.advance(timedelta(minutes=4))                     # past the window: refused outright
    assert (await server.orders(body, signature=signature))[0] == 401


@pytest.mark.parametrize("body, field, reason", [
    (b"not json", "body", "invalid JSON"),
    (b'{"rows": []}', "body", 'expected a list of orders or {"orders": [...]}'),
    (b"[]", "orders", "no orders"),
    (None, "line 1", "missing sku"),
])
async def test_malformed_own_deliveries_get_422_and_write_nothing(server, body, field, reason):
    if body is None:
        body = json.dumps([{"order_id": "W-2", "customer_ref": "C", "channel": "slack", "product": "P",
                            "category": "c", "purchased_at": "2022-01-01"}]).encode()
    status, answer = await server.orders(body)
    assert status == 422 and answer["field"] == field and reason in answer["reason"]
    assert server.snapshot()["orders"] == []


async def test_healthz_still_answers_on_the_same_server(server):
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/healthz") as response:
            assert response.status == 200 and (await response.json())["ok"] is True


def test_signature_helpers_round_trip():
    from bot.webhooks.signing import check_orders_signature
    body, now = b'{"orders": []}', datetime.fromtimestamp(int(time.time()), timezone.utc)
    header = sign_orders(b"k", body, int(now.timestamp()))
    assert check_orders_signature(b"k", body, header, now, timedelta(minutes=5)) is None
    assert "does not match" in check_orders_signature(b"k", body + b" ", header, now, timedelta(minutes=5))


async def test_marketing_consent_only_grants_it_never_withdraws_a_chat_opt_in(server):
    await server.shopify("orders/create", fixture("orders_create"))
    payload = json.loads(fixture("orders_updated"))
    payload["buyer_accepts_marketing"] = False
    payload["customer"]["email_marketing_consent"]["state"] = "unsubscribed"
    payload["note_attributes"] = []
    status, _ = await server.shopify("orders/updated", json.dumps(payload).encode())
    assert status == 200
    customer_id = server.store.orders.get(ORDER).customer_id
    identity, = server.store.customers.identities_of(customer_id)
    assert (identity.address, identity.consent) == ("512340999", True)      # STOP in the chat withdraws it


async def test_a_shopify_order_without_contact_goes_to_the_configured_channel_unlinked(server):
    payload = json.loads(fixture("orders_create"))
    payload["note_attributes"] = []
    payload["buyer_accepts_marketing"] = False
    payload["customer"]["email_marketing_consent"] = None
    assert (await server.shopify("orders/create", json.dumps(payload).encode()))[0] == 200
    order = server.store.orders.get(ORDER)
    identity, = server.store.customers.identities_of(order.customer_id)
    assert (order.channel, identity.address, identity.consent) == ("telegram", None, False)


async def test_a_shopify_order_placed_with_a_promoters_code_counts_as_a_referral(server):
    promoter = server.store.customers.upsert("C-PROMOTER", "Ana Silva", None, None, "en", NOW)
    server.store.referrals.give(promoter, "ANA12345", "https://shop.example/r/ANA12345", None, NOW)
    payload = json.loads(fixture("orders_create"))
    payload["note_attributes"].append({"name": "referral_code", "value": "ANA12345"})
    assert (await server.shopify("orders/create", json.dumps(payload).encode()))[0] == 200
    assert server.store.orders.get(ORDER).referral_code == "ANA12345"
    assert server.store.referrals.referred_orders(promoter) == [ORDER]
