"""POST /webhooks/shopify and POST /webhooks/orders on `aftercare run`'s HTTP server.

Each delivery is checked (signature, size, shape) and then goes through the same upsert as an
order file (`bot.orders.importing.import_rows`), in one transaction with the record of its delivery
id, so a repeat changes nothing. Answers: 200 done (or ignored, or a repeat); 401 a forged or
stale signature; 413 too big; 422 a payload we cannot map (field and reason, also logged);
503 no secret configured. Anything but 200 writes nothing.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Optional

from aiohttp import web

from bot.channels.registry import default_registry
from bot.base.clock import Clock
from bot.config.settings import Settings
from bot.orders.importing import ImportReport, import_rows, stored_rows
from bot.orders.files import OrderFileError, OrderRow, RowError, parse_orders, parse_row
from bot.store.store import Store
from bot.webhooks.shopify import (FULFILLMENT_TOPICS, ORDER_TOPICS, Mapped, Unmappable, map_fulfillment, map_order,
                                  order_id_of)
from bot.webhooks.signing import SIGNATURE_HEADER, check_orders_signature, shopify_valid

log = logging.getLogger(__name__)
SHOPIFY_PATH = "/webhooks/shopify"
ORDERS_PATH = "/webhooks/orders"
SHOPIFY_SOURCE = "shopify-webhook"
ORDERS_SOURCE = "orders-webhook"


class OrderWebhooks:
    """The two webhook routes, bound to one store."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    @property
    def max_body(self) -> int:
        return self.settings.webhooks.max_body_bytes

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(SHOPIFY_PATH, self.shopify)
        app.router.add_post(ORDERS_PATH, self.orders)

    # ---- Shopify -----------------------------------------------------------------------

    async def shopify(self, request: web.Request) -> web.Response:
        secret = self.settings.webhooks.shopify_secret
        if secret is None:
            return _refuse(503, "config", "webhooks.shopify_secret is not set (SHOPIFY_WEBHOOK_SECRET)", request)
        body = await _body(request, self.max_body)
        if not shopify_valid(secret.get_secret_value().encode(), body, request.headers.get("X-Shopify-Hmac-Sha256")):
            return _refuse(401, "X-Shopify-Hmac-Sha256", "does not sign this body with the app secret", request)
        topic = request.headers.get("X-Shopify-Topic", "")
        if topic not in ORDER_TOPICS | FULFILLMENT_TOPICS:
            log.info("shopify webhook: topic %r ignored", topic)
            return web.json_response({"ok": True, "ignored": topic})
        delivery = request.headers.get("X-Shopify-Webhook-Id", "").strip()
        if not delivery:
            return _refuse(422, "X-Shopify-Webhook-Id", "missing", request)
        if self.store.events.seen(SHOPIFY_SOURCE, delivery):
            return web.json_response({"ok": True, "duplicate": True})
        try:
            payload = _json(body)
            order_id = order_id_of(topic, payload)
            stored = stored_rows(self.store, order_id)
            if topic in FULFILLMENT_TOPICS:
                mapped = map_fulfillment(payload, stored)
            else:
                mapped = map_order(payload, stored, self.settings.webhooks.shopify_channel
                                   or default_registry().names(importable=True)[0])
            if mapped is None:
                return web.json_response({"ok": True, "ignored": "cancelled fulfillment"})
            rows = _rows(mapped)
        except Unmappable as exc:
            return _refuse(422, exc.field, exc.reason, request)
        report = import_rows(self.store, self.settings, rows, self.clock.now(), delivery=(SHOPIFY_SOURCE, delivery))
        return _done(report, topic)

    # ---- our own signed JSON -----------------------------------------------------------

    async def orders(self, request: web.Request) -> web.Response:
        hooks = self.settings.webhooks
        if hooks.orders_secret is None:
            return _refuse(503, "config", "webhooks.orders_secret is not set (AFTERCARE_WEBHOOK_SECRET)", request)
        body = await _body(request, self.max_body)
        header = request.headers.get(SIGNATURE_HEADER)
        problem = check_orders_signature(hooks.orders_secret.get_secret_value().encode(), body, header,
                                         self.clock.now(), hooks.tolerance)
        if problem or header is None:        # a missing header is a problem the check names
            return _refuse(401, SIGNATURE_HEADER, problem or "missing", request)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return _refuse(422, "body", f"not UTF-8 ({exc.reason} at byte {exc.start})", request)
        try:
            rows, errors = parse_orders(text, "json", source="body")
        except OrderFileError as exc:
            return _refuse(422, "body", exc.reason + (f" (line {exc.line})" if exc.line else ""), request)
        if errors:
            return _refuse(422, f"line {errors[0].line}", errors[0].reason, request)
        if not rows:
            return _refuse(422, "orders", "no orders in the body", request)
        delivery = header.split("v1=", 1)[-1].split(",")[0]
        report = import_rows(self.store, self.settings, rows, self.clock.now(), delivery=(ORDERS_SOURCE, delivery))
        return _done(report, "orders")


def _rows(mapped: Mapped) -> list[OrderRow]:
    """Our records through the importer's own row checks; the first bad one is the answer."""
    rows = []
    for index, record in enumerate(mapped.records):
        row = parse_row(record, index + 1)
        if isinstance(row, RowError):
            raise Unmappable(f"line_items[{index}]", row.reason)
        rows.append(row)
    return rows


async def _body(request: web.Request, limit: int) -> bytes:
    """The raw body (aiohttp answers 413 past the app's client_max_size)."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await request.read()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Unmappable("body", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Unmappable("body", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _refuse(status: int, field: str, reason: str, request: web.Request) -> web.Response:
    log.warning("%s %s -> %d: %s: %s", request.method, request.path, status, field, reason)
    return web.json_response({"ok": False, "field": field, "reason": reason}, status=status)


def _done(report: ImportReport, what: str) -> web.Response:
    if report.duplicate:
        return web.json_response({"ok": True, "duplicate": True})
    log.info("webhook %s: %d new, %d updated, %d unchanged orders", what, report.inserted, report.updated,
             report.unchanged)
    return web.json_response({"ok": True, "inserted": report.inserted, "updated": report.updated,
                              "unchanged": report.unchanged})


def web_app(webhooks: Optional[OrderWebhooks]) -> web.Application:
    """An aiohttp app sized for the webhooks' body limit (aiohttp's own default otherwise)."""
    if webhooks is None:
        return web.Application()
    app = web.Application(client_max_size=webhooks.max_body)
    webhooks.add_routes(app)
    return app
