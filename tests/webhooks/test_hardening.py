"""Issue #24's webhook findings, each tried again the way it was found: live requests on
loopback against the webhook app `aftercare run` serves (bot.health.start_health), and the
signatures against fixed vectors that do not come from our own signing code."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from pydantic import SecretStr

from bot.base.clock import SimClock
from bot.channels.registry import section, section_models
from bot.config.settings import ConfigError
from bot.config.loading import load_settings
from bot.live.core import build_core
from bot.live.health import start_health
from bot.store.store import Store
from bot.webhooks.http import OrderWebhooks
from bot.webhooks.signing import check_orders_signature, shopify_hmac, shopify_valid, sign_orders
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser
from tests.webhooks.test_http import NOW, ORDER, ORDERS_SECRET, SHOPIFY_SECRET, Server, fixture, own_order

CONFIG = ROOT / "config.yml"


async def _serve(settings, store: Store, clock: SimClock):
    core = build_core(settings, store, TableParser(), clock, {})
    return await start_health(core, port=0, webhooks=OrderWebhooks(store, settings, clock))


@pytest.fixture
async def server():
    settings = make_settings(webhooks={"shopify_secret": SHOPIFY_SECRET, "orders_secret": ORDERS_SECRET})
    store, clock = Store.memory(), SimClock(NOW)
    runner = await _serve(settings, store, clock)
    try:
        yield Server(store, f"http://127.0.0.1:{runner.addresses[0][1]}", clock)
    finally:
        await runner.cleanup()
        store.close()


# ---- 1. an empty secret signs everything ------------------------------------------------

@pytest.mark.parametrize("variable, key", [("SHOPIFY_WEBHOOK_SECRET", "webhooks.shopify_secret"),
                                           ("AFTERCARE_WEBHOOK_SECRET", "webhooks.orders_secret"),
                                           ("TELEGRAM_WEBHOOK_SECRET", "channels.telegram.webhook_secret"),
                                           ("SLACK_SIGNING_SECRET", "channels.slack.signing_secret"),
                                           ("TELEGRAM_BOT_TOKEN", "channels.telegram.token")])
def test_a_set_but_empty_secret_is_a_config_error_naming_the_key(variable, key):
    with pytest.raises(ConfigError, match=f"{key}: is set but empty"):
        load_settings(CONFIG, environ={variable: ""}, channels=section_models())
    with pytest.raises(ConfigError, match=f"{key}: is set but empty"):
        load_settings(CONFIG, environ={variable: "   "}, channels=section_models())
    if key.startswith("channels."):                 # loaded without the channels: checked when read
        settings = load_settings(CONFIG, environ={variable: ""})
        with pytest.raises(ConfigError, match=f"{key}: is set but empty"):
            section(settings, key.split(".")[1])


def test_a_short_signing_secret_is_a_config_error_that_never_shows_it():
    with pytest.raises(ConfigError, match="webhooks.shopify_secret: shorter than 16 characters") as error:
        load_settings(CONFIG, environ={"SHOPIFY_WEBHOOK_SECRET": "hunter2-short"})
    assert "hunter2" not in str(error.value)
    load_settings(CONFIG, environ={"SHOPIFY_WEBHOOK_SECRET": "x" * 16, "TELEGRAM_BOT_TOKEN": "123:abc"})


async def test_an_empty_secret_that_got_past_the_config_still_signs_nothing():
    """Settings built in code (not from config.yml) with an empty key: the routes answer 503."""
    settings = make_settings()
    settings = settings.copy(update={"webhooks": settings.webhooks.copy(update={
        "shopify_secret": SecretStr(""), "orders_secret": SecretStr("")})})
    store, clock = Store.memory(), SimClock(NOW)
    runner = await _serve(settings, store, clock)
    try:
        live = Server(store, f"http://127.0.0.1:{runner.addresses[0][1]}", clock)
        assert (await live.shopify("orders/create", fixture("orders_create"), secret=""))[0] == 503
        assert (await live.orders(own_order(), secret=""))[0] == 503
        assert live.snapshot()["orders"] == []
    finally:
        await runner.cleanup()
        store.close()


# ---- 2. a buyer cannot point an existing customer's chat elsewhere ------------------------

async def test_a_second_order_cannot_rebind_or_consent_an_existing_customers_chat(server):
    assert (await server.shopify("orders/create", fixture("orders_create")))[0] == 200
    customer_id = server.store.orders.get(ORDER).customer_id
    identity, = server.store.customers.identities_of(customer_id)
    assert identity.address == "512340999"
    payload = json.loads(fixture("orders_create"))
    payload.update(id=ORDER + "9", updated_at="2022-01-02T00:00:00-05:00")
    payload["note_attributes"] = [{"name": "aftercare_channel", "value": "telegram"},
                                  {"name": "aftercare_address", "value": "666000666"}]
    status, _ = await server.shopify("orders/create", json.dumps(payload).encode())
    assert status == 200 and server.store.orders.get(ORDER + "9").customer_id == customer_id
    identity, = server.store.customers.identities_of(customer_id)
    assert identity.address == "512340999"                         # not the buyer's new address
    assert server.store.customers.identity_at("telegram", "666000666") is None
    before = server.store.customers.get(customer_id)
    payload.update(id=ORDER + "8", updated_at="2022-01-03T00:00:00-05:00", customer_locale="de")
    payload["customer"] = {**payload["customer"], "first_name": "Mallory", "last_name": "[/]"}
    assert (await server.shopify("orders/create", json.dumps(payload).encode()))[0] == 200
    after = server.store.customers.get(customer_id)                # nor renamed, nor another language
    assert (after.name, after.language, after.timezone) == (before.name, before.language, before.timezone)


async def test_order_data_gives_an_existing_customer_no_chat_on_another_channel_either(server):
    assert (await server.orders(own_order()))[0] == 200                         # C-9 on slack U0RITA
    second = own_order(order_id="W-2", channel="telegram", address="777000777")
    assert (await server.orders(second, at=int(NOW.timestamp()) + 1))[0] == 200
    customer_id = server.store.orders.get("W-2").customer_id
    by_channel = {i.channel: i.address for i in server.store.customers.identities_of(customer_id)}
    assert by_channel == {"slack": "U0RITA", "telegram": None}                 # bound later by the deep link


def test_the_store_never_rebinds_an_identity_nor_hands_out_someone_elses_chat():
    store = Store.memory()
    ana = store.customers.upsert("C-ANA", "Ana", None, None, "en", NOW)
    bob = store.customers.upsert("C-BOB", "Bob", None, None, "en", NOW)
    mine = store.customers.ensure_identity(ana, "telegram", "1001", True, NOW, source="order-import:1")
    store.customers.ensure_identity(ana, "telegram", "6666", True, NOW, source="order-import:2")
    assert store.customers.identity(mine).address == "1001"
    theirs = store.customers.ensure_identity(bob, "telegram", "1001", True, NOW, source="order-import:3")
    assert store.customers.identity(theirs).address is None
    assert store.customers.identity_at("telegram", "1001").customer_id == ana


async def test_order_data_never_grants_consent_to_an_existing_identity(server):
    payload = json.loads(fixture("orders_create"))
    payload["buyer_accepts_marketing"] = False
    payload["customer"]["email_marketing_consent"] = None
    assert (await server.shopify("orders/create", json.dumps(payload).encode()))[0] == 200
    customer_id = server.store.orders.get(ORDER).customer_id
    identity, = server.store.customers.identities_of(customer_id)
    assert identity.consent is False                    # a chat address typed at checkout consents to nothing
    payload.update(updated_at="2022-01-01T09:00:00-05:00", buyer_accepts_marketing=True)
    assert (await server.shopify("orders/updated", json.dumps(payload).encode()))[0] == 200
    identity, = server.store.customers.identities_of(customer_id)
    assert identity.consent is False


# ---- 3. old deliveries cannot be replayed ------------------------------------------------

async def test_an_old_orders_create_resent_under_a_new_id_after_a_cancel_is_refused(server):
    create = fixture("orders_create")
    assert (await server.shopify("orders/create", create, webhook_id="a"))[0] == 200
    assert (await server.shopify("orders/cancelled", fixture("orders_cancelled"), webhook_id="b"))[0] == 200
    before = server.snapshot()
    status, answer = await server.shopify("orders/create", create, webhook_id="brand-new-id")
    assert (status, answer["field"]) == (409, "updated_at")
    assert server.store.orders.get(ORDER).status == "cancelled"
    assert server.snapshot() == before


async def test_an_older_state_never_seen_before_is_refused_after_a_newer_one(server):
    """No dedupe row can catch a state that was never delivered here: the stored version does."""
    assert (await server.shopify("orders/create", fixture("orders_create")))[0] == 200
    assert (await server.shopify("orders/cancelled", fixture("orders_cancelled")))[0] == 200
    older = json.loads(fixture("orders_updated"))                       # 08:00, before the 12:00 cancel
    older["cancelled_at"] = None
    status, answer = await server.shopify("orders/updated", json.dumps(older).encode())
    assert (status, answer["field"]) == (409, "updated_at")
    assert server.store.orders.get(ORDER).status == "cancelled"


async def test_a_newer_state_is_applied_and_the_same_state_again_is_a_duplicate(server):
    assert (await server.shopify("orders/create", fixture("orders_create")))[0] == 200
    status, answer = await server.shopify("orders/updated", fixture("orders_updated"), webhook_id="x1")
    assert (status, answer["updated"]) == (200, 1)
    status, answer = await server.shopify("orders/updated", fixture("orders_updated"), webhook_id="x2")
    assert (status, answer) == (200, {"ok": True, "duplicate": True})


# ---- 4. the orders webhook's replay check cannot be dodged -------------------------------

async def test_junk_v1_beside_the_valid_one_does_not_make_a_repeat_new(server):
    body = own_order()
    stamp = int(NOW.timestamp())
    valid = sign_orders(ORDERS_SECRET.encode(), body, stamp).split(",")[1]
    status, answer = await server.orders(body, signature=f"t={stamp},v1=junk1,{valid}")
    assert (status, answer["inserted"]) == (200, 1)
    for junk in ("junk2", "junk3", "00" * 32):
        status, answer = await server.orders(body, signature=f"t={stamp},v1={junk},{valid}")
        assert (status, answer) == (200, {"ok": True, "duplicate": True})
    assert len([e for e in server.snapshot()["processed_events"] if e["channel"] == "orders-webhook"]) == 1


# ---- 5. malformed headers and payloads are 4xx, never 500 --------------------------------

async def _raw_post(server: Server, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """A request with raw header bytes (what a client that sends UTF-8 headers puts on the wire)."""
    import asyncio
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    head += b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_non_ascii_signature_headers_get_401(server):
    body = fixture("orders_create")
    for value in ("hé²".encode(), b"\xff\xfe", b"cA4t\x80"):                      # non-ASCII, not even UTF-8
        shopify = [(b"X-Shopify-Topic", b"orders/create"), (b"X-Shopify-Hmac-Sha256", value)]
        assert await _raw_post(server, "/webhooks/shopify", body, shopify) == 401
    own = own_order()
    stamp = int(NOW.timestamp())
    valid = sign_orders(ORDERS_SECRET.encode(), own, stamp)
    for header in ("t=²,v1=00", f"t={stamp},v1=é{valid[-10:]}", valid.replace("t=", "t=\u0662")):
        assert await _raw_post(server, "/webhooks/orders", own, [(b"X-Aftercare-Signature", header.encode())]) == 401
    assert await _raw_post(server, "/webhooks/orders", own, [(b"X-Aftercare-Signature", valid.encode() + b"\xff")]) == 401
    assert server.snapshot()["orders"] == []


@pytest.mark.parametrize("change, field", [
    ({"line_items": ["x"]}, "line_items[0]"),
    ({"line_items": [{"title": "X", "sku": "X", "quantity": 1, "properties": 5}]}, "line_items[].properties"),
    ({"updated_at": ["2022"]}, "updated_at"),
    ({"id": {"a": 1}}, "id"),
    ({"note_attributes": "x"}, "note_attributes"),
])
async def test_signed_payloads_of_the_wrong_shape_get_422(server, change, field):
    payload = {**json.loads(fixture("orders_create")), **change}
    status, answer = await server.shopify("orders/create", json.dumps(payload).encode())
    assert (status, answer["field"]) == (422, field)
    assert server.snapshot()["orders"] == []


# ---- signatures against fixed vectors ----------------------------------------------------

# Shopify's documentation ("Verify the installation request", shopify.dev) gives this HMAC-SHA256
# example: secret "hush", the message below, hex digest 700e2dad...4bf. A webhook header is the
# same HMAC-SHA256 over the raw body, base64-encoded (shopify.dev, "Verify webhook deliveries").
SHOPIFY_DOC_SECRET = b"hush"
SHOPIFY_DOC_BODY = (b"code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
                    b"&state=0.6784241404160823&timestamp=1337178173")
SHOPIFY_DOC_HEX = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"


def test_shopify_hmac_matches_the_example_in_shopifys_documentation():
    header = base64.b64encode(bytes.fromhex(SHOPIFY_DOC_HEX)).decode()
    assert header == "cA4trbgn/Mhgnp1c4giy6c2qud8HOQ0svKENfDKPxL8="
    assert shopify_hmac(SHOPIFY_DOC_SECRET, SHOPIFY_DOC_BODY) == header
    assert shopify_valid(SHOPIFY_DOC_SECRET, SHOPIFY_DOC_BODY, header)
    assert not shopify_valid(SHOPIFY_DOC_SECRET, SHOPIFY_DOC_BODY + b" ", header)
    assert not shopify_valid(SHOPIFY_DOC_SECRET, SHOPIFY_DOC_BODY, SHOPIFY_DOC_HEX)      # hex is not base64
    assert not shopify_valid(b"", SHOPIFY_DOC_BODY, header)


# Our X-Aftercare-Signature, computed with `openssl dgst -sha256 -hmac KEY` over "T." + body.
OUR_VECTORS = [
    (b"aftercare-test-vector-key-1", 1700000000, b'{"orders": []}',
     "t=1700000000,v1=01fee9e06a55b3c687e4ba67444a48842abd129a6d768854a1791879893d3f06"),
    (b"another-32-byte-key-for-vectors!", 0, b"",
     "t=0,v1=83f708e2332b486bd77157e02ff4a9e00e508db210347dfd1f94c34067dc0e50"),
]


@pytest.mark.parametrize("key, stamp, body, header", OUR_VECTORS)
def test_our_signature_matches_fixed_vectors(key, stamp, body, header):
    assert sign_orders(key, body, stamp) == header
    at = datetime.fromtimestamp(stamp, timezone.utc)
    assert check_orders_signature(key, body, header, at, timedelta(minutes=5)) is None
    assert check_orders_signature(key, body + b"x", header, at, timedelta(minutes=5)) is not None
    assert check_orders_signature(key, body, header, at + timedelta(minutes=6), timedelta(minutes=5)) is not None


async def test_the_webhook_routes_never_log_the_secrets(server, caplog):
    await server.shopify("orders/create", fixture("orders_create"), secret="wrong-secret-value-xyz")
    await server.orders(own_order(), secret="wrong-secret-value-xyz")
    await server.shopify("orders/create", fixture("orders_create"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert SHOPIFY_SECRET not in text and ORDERS_SECRET not in text
    assert aiohttp                                                        # the live client is real


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "9999-12-31"])
async def test_dates_no_schedule_can_hold_get_422_not_500(server, when):
    """Found by the fuzz: a shipped_at of 9999-12-31 overflowed the schedule's date arithmetic."""
    status, answer = await server.orders(own_order(shipped_at=when))
    assert (status, answer["field"]) == (422, "line 1") and "shipped_at" in answer["reason"]
    assert server.snapshot()["orders"] == []
