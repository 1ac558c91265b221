"""10,000 seeded deliveries per order webhook route (POST /webhooks/shopify, POST
/webhooks/orders), each through the route's real handler on the aiohttp app `aftercare run`
serves (`web_app`, resolved by its own router), with a real store: no sockets, so the whole
count runs in `make test` (the wire itself is covered by tests/webhooks/test_hardening.py).

The stream mixes valid deliveries, exact repeats and replays under new (unsigned) ids, replays
of older states, forged and non-ASCII signatures, signed payloads of every wrong shape, junk
bytes and oversized bodies. Passes when: no delivery gets a 5xx or raises; each kind gets the
answer it must (401 forged, 413 too big, 409 an older state, 200 a new or repeated one); the
newest state applied per order is what the store holds (a replay never wins); and the
whole-database check finds nothing. AFTERCARE_WEBHOOK_FUZZ_COUNT (10,000) and
AFTERCARE_FUZZ_SEED pick the size and the stream."""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

import pytest
from aiohttp import web
from aiohttp.http import HttpVersion11, RawRequestMessage
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot.base.clock import SimClock
from bot.store.check import problems
from bot.store.store import Store
from bot.webhooks.http import OrderWebhooks, web_app
from bot.webhooks.signing import shopify_hmac, sign_orders
from tests.support.harness import make_settings
from tests.webhooks.test_http import NOW, fixture

COUNT = int(os.environ.get("AFTERCARE_WEBHOOK_FUZZ_COUNT", "10000"))
SEED = int(os.environ.get("AFTERCARE_FUZZ_SEED", "20261130"))
SHOPIFY_SECRET = "fuzz-shopify-secret-0123456789"
ORDERS_SECRET = "fuzz-orders-secret-0123456789"
MAX_BODY = 20_000
HOSTILE: list[Any] = [None, True, False, 0, -1, 1.5e308, 2 ** 70, "", " ", "x" * 300, "²", "\u202e\u0663", "\ud800",
                      "\x00", [], {}, ["x"], [1, [2]], {"a": {"b": None}}, "2022-13-45T99:00:00Z", "NaN",
                      "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "telegram", "slack", "shopify-1"]


class Payload:
    """Just enough of aiohttp's StreamReader for `Request.read()`."""

    def __init__(self, body: bytes) -> None:
        self.chunks = [body, b""]

    async def readany(self) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


_PARTS: dict[str, Any] = {}


async def post(app: web.Application, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One delivery through aiohttp's Request and the app's router to the route's handler (the
    connection-level mocks are made once: making them per request was most of the time)."""
    if not _PARTS:
        from unittest import mock
        protocol = mock.Mock()
        protocol.transport.get_extra_info.return_value = ("127.0.0.1", 40000)
        _PARTS.update(protocol=protocol, writer=mock.Mock(), task=mock.Mock())
    values = CIMultiDict({**headers, "Content-Length": str(len(body))})
    message = RawRequestMessage("POST", path, HttpVersion11, CIMultiDictProxy(values),
                                tuple((k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in values.items()),
                                False, None, False, False, URL(path))
    request = web.Request(message, Payload(body), _PARTS["protocol"], _PARTS["writer"], _PARTS["task"],
                          asyncio.get_running_loop(), client_max_size=MAX_BODY)
    match = await app.router.resolve(request)
    try:
        response = await match.handler(request)
    except web.HTTPException as exc:           # aiohttp's own answers (413)
        return exc.status
    return response.status


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """`value` with one thing somewhere in it swapped for something hostile (or dropped)."""
    if isinstance(value, dict) and value and depth < 6 and rng.random() < 0.8:
        key = rng.choice(list(value))
        out = dict(value)
        roll = rng.random()
        if roll < 0.15:
            out.pop(key)
        elif roll < 0.25:
            out[rng.choice(["", "\u0000", "id", "ID", "line_items ", "🙂"])] = rng.choice(HOSTILE)
        else:
            out[key] = mutate(rng, value[key], depth + 1)
        return out
    if isinstance(value, list) and value and depth < 6 and rng.random() < 0.8:
        out = list(value)
        index = rng.randrange(len(out))
        out[index] = mutate(rng, out[index], depth + 1)
        return out
    return copy.deepcopy(rng.choice(HOSTILE))


def dumps(rng: random.Random, value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


class Tally:
    def __init__(self) -> None:
        self.kinds: Counter = Counter()
        self.statuses: Counter = Counter()
        self.wrong: list[str] = []

    def check(self, kind: str, status: int, allowed: set[int], what: Any = "") -> None:
        self.kinds[kind] += 1
        self.statuses[status] += 1
        if status >= 500 or status not in allowed:
            self.wrong.append(f"{kind}: {status} not in {sorted(allowed)}: {str(what)[:200]}")


@pytest.fixture
def hooks():
    settings = make_settings(webhooks={"shopify_secret": SHOPIFY_SECRET, "orders_secret": ORDERS_SECRET,
                                       "max_body_bytes": MAX_BODY})
    store, clock = Store.memory(), SimClock(NOW)
    app = web_app(OrderWebhooks(store, settings, clock))
    yield app, store, clock
    store.close()


# ---- Shopify ------------------------------------------------------------------------------

def shopify_order(rng: random.Random, order_id: int, version: int, base: dict) -> tuple[str, dict]:
    payload = copy.deepcopy(base)
    payload["id"] = order_id
    payload["customer"]["id"] = 1000 + order_id % 17           # customers shared across orders
    payload["updated_at"] = (NOW - timedelta(days=30) + timedelta(minutes=version)).isoformat()
    payload["note_attributes"] = [{"name": "aftercare_channel", "value": "telegram"},
                                  {"name": "aftercare_address", "value": str(5000 + rng.randrange(50))}]
    topic = rng.choice(["orders/create", "orders/updated", "orders/updated", "orders/cancelled", "orders/fulfilled"])
    payload["cancelled_at"] = payload["updated_at"] if topic == "orders/cancelled" else None
    return topic, payload


async def test_shopify_route_survives_10000_hostile_deliveries(hooks, caplog):
    caplog.set_level(logging.WARNING)
    app, store, _ = hooks
    rng = random.Random(SEED)
    base = json.loads(fixture("orders_create"))
    fulfilment = json.loads(fixture("fulfillments_update_delivered"))
    versions: dict[int, int] = {}
    applied: dict[int, str] = {}                      # order id -> newest updated_at answered 200 (new)
    fulfilled: dict[int, str] = {}                    # fulfilment id -> newest updated_at applied
    sent: list[tuple[int, int, str, bytes]] = []      # (order, version, topic, body) of valid deliveries
    tally = Tally()
    secret = SHOPIFY_SECRET.encode()
    started = time.monotonic()

    def headers(topic: str, body: bytes, hmac: Optional[str] = None) -> dict[str, str]:
        return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": hmac if hmac is not None else shopify_hmac(secret, body),
                "X-Shopify-Webhook-Id": f"wh-{rng.randrange(10 ** 9)}", "Content-Type": "application/json"}

    for _ in range(COUNT):
        roll = rng.random()
        if roll < 0.30 or not sent:                       # a new state of some order
            order = 900_000 + rng.randrange(60)
            versions[order] = versions.get(order, 0) + rng.randrange(1, 4)
            topic, payload = shopify_order(rng, order, versions[order], base)
            body = dumps(rng, payload)
            status = await post(app, "/webhooks/shopify", body, headers(topic, body))
            tally.check("new state", status, {200}, body)
            sent.append((order, versions[order], topic, body))
            applied[order] = payload["updated_at"]
        elif roll < 0.45:                                 # a repeat or replay of an earlier delivery, new id
            order, version, topic, body = rng.choice(sent)
            newest = version == versions[order]
            status = await post(app, "/webhooks/shopify", body, headers(topic, body))
            tally.check("replay" if not newest else "repeat", status, {200} if newest else {200, 409}, body)
        elif roll < 0.52:                                 # a fulfilment of a known or unknown order
            payload = copy.deepcopy(fulfilment)
            payload["order_id"] = 900_000 + rng.randrange(80)
            payload["id"] = rng.randrange(10)
            payload["updated_at"] = (NOW - timedelta(days=rng.randrange(30))).isoformat()
            body = dumps(rng, payload)
            status = await post(app, "/webhooks/shopify", body, headers("fulfillments/update", body))
            at, held = payload["updated_at"], fulfilled.get(payload["id"])
            if held is not None and datetime.fromisoformat(at) < datetime.fromisoformat(held):
                expect = {409}                                # an older state of that fulfilment: a replay
            else:                                             # 422: an unknown order, or delivered before shipped
                expect = {200, 422}
                if status == 200:
                    fulfilled[payload["id"]] = at
            tally.check("fulfilment", status, expect, body)
        elif roll < 0.70:                                 # signed, of a wrong shape somewhere
            topic, payload = shopify_order(rng, 800_000 + rng.randrange(30), rng.randrange(1000), base)
            body = dumps(rng, mutate(rng, payload))
            status = await post(app, "/webhooks/shopify", body, headers(rng.choice([topic, "fulfillments/create"]), body))
            tally.check("wrong shape", status, {200, 409, 422}, body)
        elif roll < 0.76:                                 # signed junk bytes, or JSON nested past any stack
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))) if rng.random() < 0.8 \
                else b"[" * 5000 + b"]" * 5000
            status = await post(app, "/webhooks/shopify", body, headers("orders/create", body))
            tally.check("junk", status, {422}, body)
        elif roll < 0.92:                                 # forged, tampered, or no header at all
            order, version, topic, body = rng.choice(sent)
            hmac = rng.choice([shopify_hmac(b"not-the-secret-at-all", body), "", " ", "hé²", "\u0663" * 44,
                               shopify_hmac(secret, body)[:-2] + "==", shopify_hmac(secret, body + b" "),
                               shopify_hmac(secret, body).lower(), "A" * 10_000])
            forged = headers(topic, body, hmac)
            if rng.random() < 0.2:
                forged.pop("X-Shopify-Hmac-Sha256")
            status = await post(app, "/webhooks/shopify", body, forged)
            tally.check("forged", status, {401}, hmac)
        elif roll < 0.96:                                 # another topic: acknowledged, ignored
            body = b'{"id": 1}'
            status = await post(app, "/webhooks/shopify", body, headers(rng.choice(["products/create", "", "é"]), body))
            tally.check("other topic", status, {200}, body)
        else:                                             # too big
            body = b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
            status = await post(app, "/webhooks/shopify", body, headers("orders/create", body))
            tally.check("oversized", status, {413})
    seconds = time.monotonic() - started
    print(f"\nshopify fuzz: {COUNT} deliveries in {seconds:.1f} s (seed {SEED}): {dict(tally.kinds)}; "
          f"answers {dict(tally.statuses)}")
    assert not tally.wrong, tally.wrong[:10]
    assert sum(tally.kinds.values()) == COUNT and tally.kinds["replay"] > COUNT // 100 and tally.kinds["repeat"] > COUNT // 100
    for order, updated_at in applied.items():         # a replay never undid a newer state
        assert store.orders.shop_version(str(order)) == _iso(updated_at), order
    for ident, updated_at in fulfilled.items():       # nor did an older fulfilment state
        assert store.orders.fulfillment_version(f"fulfillment:{ident}") == _iso(updated_at), ident
    _no_unhandled(caplog)
    assert problems(store) == []


# ---- our own signed JSON ------------------------------------------------------------------

def own_row(rng: random.Random, n: int) -> dict:
    return {"order_id": f"F-{n}", "customer_ref": f"C-{n % 23}", "customer_name": rng.choice(["Rita Ora", "Eve [/]", "李"]),
            "channel": "slack", "address": f"U0F{n % 31:03d}", "product": "Trail Runner 2 shoes", "sku": "TR2-44",
            "category": "footwear", "purchased_at": "2022-01-01T10:00:00Z",
            "shipped_at": rng.choice([None, "2022-01-02T10:00:00Z"]), "status": rng.choice(["placed", "cancelled"])}


async def test_orders_route_survives_10000_hostile_deliveries(hooks, caplog):
    caplog.set_level(logging.WARNING)
    app, store, clock = hooks
    rng = random.Random(SEED + 1)
    secret = ORDERS_SECRET.encode()
    sent: list[tuple[bytes, str, int]] = []           # (body, header, stamp) of valid deliveries
    tally = Tally()
    started = time.monotonic()

    def now() -> int:
        return int(clock.now().timestamp())

    async def deliver(body: bytes, header: Optional[str]) -> int:
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["X-Aftercare-Signature"] = header
        return await post(app, "/webhooks/orders", body, headers)

    for index in range(COUNT):
        if index % 500 == 499:
            clock.advance(timedelta(seconds=rng.randrange(30, 400)))
        roll = rng.random()
        if roll < 0.30 or not sent:                       # a new delivery
            body = dumps(rng, {"orders": [own_row(rng, n) for n in rng.sample(range(200), rng.randrange(1, 3))]})
            header = sign_orders(secret, body, now())
            tally.check("new", await deliver(body, header), {200}, body)
            sent.append((body, header, now()))
        elif roll < 0.45:                                 # the same delivery again, maybe with junk v1s around it
            body, header, stamp = rng.choice(sent)
            t, v1 = header.split(",")
            again = rng.choice([header, f"{t},v1=junk{rng.randrange(10 ** 6)},{v1}", f"{t},{v1},v1={'0' * 64}",
                                f" {t} , {v1} "])
            fresh = abs(now() - stamp) <= 300
            tally.check("repeat" if fresh else "stale repeat", await deliver(body, again), {200} if fresh else {401})
        elif roll < 0.65:                                 # signed, of a wrong shape somewhere
            body = dumps(rng, mutate(rng, {"orders": [own_row(rng, rng.randrange(200))]}))
            tally.check("wrong shape", await deliver(body, sign_orders(secret, body, now())), {200, 422}, body)
        elif roll < 0.70:                                 # signed junk bytes, or JSON nested past any stack
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))) if rng.random() < 0.8 \
                else b'{"orders": ' + b"[" * 5000 + b"]" * 5000 + b"}"
            tally.check("junk", await deliver(body, sign_orders(secret, body, now())), {422}, body)
        elif roll < 0.96:                                 # forged, garbled, stale, non-ASCII
            body, header, stamp = rng.choice(sent)
            forged: Optional[str] = rng.choice([
                sign_orders(b"not-the-secret-at-all", body, now()), sign_orders(secret, body + b" ", now()),
                sign_orders(secret, body, now() - 301), sign_orders(secret, body, now() + 301), "", "v1=abc",
                f"t=²,{header.split(',')[1]}", f"t=\u0661\u0662,{header.split(',')[1]}", "t=1,t=2,v1=00",
                f"t={now()},v1=é{header[-10:]}", "t=" + "9" * 40 + ",v1=00", ",,,", "t=,v1=", None,
                f"t={now()}", header.replace("v1=", "v0="), "x" * 5000])
            tally.check("forged", await deliver(body, forged), {401}, forged)
        else:                                             # too big
            body = b'{"orders": [], "pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
            tally.check("oversized", await deliver(body, sign_orders(secret, body, now())), {413})
    seconds = time.monotonic() - started
    print(f"\norders fuzz: {COUNT} deliveries in {seconds:.1f} s (seed {SEED}): {dict(tally.kinds)}; "
          f"answers {dict(tally.statuses)}")
    assert not tally.wrong, tally.wrong[:10]
    assert sum(tally.kinds.values()) == COUNT and tally.kinds["repeat"] > COUNT // 100
    recorded = store.db.execute("select count(*) from processed_events where channel = 'orders-webhook'").fetchone()[0]
    assert recorded <= tally.kinds["new"] + tally.kinds["wrong shape"]      # repeats recorded nothing new
    _no_unhandled(caplog)
    assert problems(store) == []


def _iso(value: str) -> str:
    from bot.base.clock import iso
    from bot.orders.files import parse_moment
    return iso(parse_moment(value)) or ""


def _no_unhandled(caplog: Any, allowed: Callable[[logging.LogRecord], bool] = lambda r: False) -> None:
    unhandled = [r for r in caplog.records if (r.exc_info or r.levelno >= logging.ERROR) and not allowed(r)]
    assert not unhandled, [f"{r.name}: {r.getMessage()}" for r in unhandled[:10]]
