"""POST /webhooks/shopify and POST /webhooks/orders on `aftercare run`'s HTTP server.

Each delivery is checked (signature, size, shape) and then goes through the same upsert as an
order file (`bot.orders.importing.import_rows`), in one transaction with the record of its delivery
id, so a repeat changes nothing. The delivery id is taken from what the signature covers (a
Shopify payload's id and updated_at; our v1), never from an unsigned header. Answers: 200 done
(or ignored, or a repeat); 401 a forged or stale signature; 409 a Shopify order payload older
than the one applied; 413 too big; 422 a payload we cannot map (field and reason, also logged);
503 no secret configured. Anything but 200 writes nothing, and no input gives a 5xx.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Optional

from aiohttp import web

from bot.channels.registry import ChannelRegistry
from bot.base.clock import Clock, parse_iso
from bot.config.settings import Settings
from bot.orders.importing import ImportReport, import_rows, stored_rows
from bot.orders.files import OrderFileError, OrderRow, RowError, parse_orders, parse_row
from bot.store.store import Store
from bot.webhooks.shopify import (FULFILLMENT_TOPICS, ORDER_TOPICS, Mapped, Unmappable, map_fulfillment, map_order,
                                  order_id_of, version_of)
from bot.webhooks.signing import SIGNATURE_HEADER, shopify_valid, verify_orders_signature

log = logging.getLogger(__name__)
SHOPIFY_PATH = "/webhooks/shopify"
ORDERS_PATH = "/webhooks/orders"
SHOPIFY_SOURCE = "shopify-webhook"
ORDERS_SOURCE = "orders-webhook"


class OrderWebhooks:
    """The two webhook routes, bound to one store. `channels`: the channels an order may name (the
    plugins'; the built-ins when None)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock,
                 channels: Optional[ChannelRegistry] = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.channels = channels if channels is not None else ChannelRegistry()

    @property
    def max_body(self) -> int:
        return self.settings.webhooks.max_body_bytes

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(SHOPIFY_PATH, self.shopify)
        app.router.add_post(ORDERS_PATH, self.orders)

    # ---- Shopify -----------------------------------------------------------------------

    async def shopify(self, request: web.Request) -> web.Response:
        secret = self.settings.webhooks.shopify_secret
        if secret is None or not secret.get_secret_value():    # an empty key signs anything
            return _refuse(503, "config", "webhooks.shopify_secret is not set (SHOPIFY_WEBHOOK_SECRET)", request)
        body = await _body(request, self.max_body)
        if not shopify_valid(secret.get_secret_value().encode(), body, request.headers.get("X-Shopify-Hmac-Sha256")):
            return _refuse(401, "X-Shopify-Hmac-Sha256", "does not sign this body with the app secret", request)
        topic = request.headers.get("X-Shopify-Topic", "")
        if topic not in ORDER_TOPICS | FULFILLMENT_TOPICS:
            log.info("shopify webhook: topic %r ignored", topic[:64])
            return web.json_response({"ok": True, "ignored": topic})
        try:
            payload = _json(body)
            # Deduplicated on what the HMAC covers (the payload's id and updated_at), not on the
            # unsigned X-Shopify-Webhook-Id: an old body resent under a new id is the same delivery.
            version = version_of(topic, payload)
            order_id = order_id_of(topic, payload)
            held = (self.store.orders.shop_version(order_id) if topic in ORDER_TOPICS
                    else self.store.orders.fulfillment_version(version.resource))
            held_at = parse_iso(held) if held else None
            if held_at is not None and held_at > version.at:
                what = "order" if topic in ORDER_TOPICS else "fulfillment"
                return _refuse(409, "updated_at", f"{version.updated_at} is older than the {what} held "
                               f"({held}): a replay of an earlier state is not applied", request)
            if self.store.events.seen(SHOPIFY_SOURCE, version.key):
                return web.json_response({"ok": True, "duplicate": True})
            stored = stored_rows(self.store, order_id)
            if topic in FULFILLMENT_TOPICS:
                mapped = map_fulfillment(payload, stored)
            else:
                mapped = map_order(payload, stored, self.settings.webhooks.shopify_channel
                                   or self.channels.names(importable=True)[0])
            if mapped is None:
                return web.json_response({"ok": True, "ignored": "cancelled fulfillment"})
            rows = _rows(mapped, self.channels)
        except Unmappable as exc:
            return _refuse(422, exc.field, exc.reason, request)
        with self.store.transaction():
            report = import_rows(self.store, self.settings, rows, self.clock.now(),
                                 delivery=(SHOPIFY_SOURCE, version.key))
            if topic in ORDER_TOPICS and not report.duplicate:
                self.store.orders.set_shop_version(order_id, version.updated_at)
            elif topic in FULFILLMENT_TOPICS and not report.duplicate:
                self.store.orders.set_fulfillment_version(version.resource, order_id, version.updated_at)
        return _done(report, topic)

    # ---- our own signed JSON -----------------------------------------------------------

    async def orders(self, request: web.Request) -> web.Response:
        hooks = self.settings.webhooks
        if hooks.orders_secret is None or not hooks.orders_secret.get_secret_value():
            return _refuse(503, "config", "webhooks.orders_secret is not set (AFTERCARE_WEBHOOK_SECRET)", request)
        body = await _body(request, self.max_body)
        signature = verify_orders_signature(hooks.orders_secret.get_secret_value().encode(), body,
                                            request.headers.get(SIGNATURE_HEADER), self.clock.now(), hooks.tolerance)
        if signature.problem is not None or signature.delivery is None:
            return _refuse(401, SIGNATURE_HEADER, signature.problem or "missing", request)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return _refuse(422, "body", f"not UTF-8 ({exc.reason} at byte {exc.start})", request)
        try:
            rows, errors = parse_orders(text, "json", source="body", channels=self.channels)
        except OrderFileError as exc:
            return _refuse(422, "body", exc.reason + (f" (line {exc.line})" if exc.line else ""), request)
        if errors:
            return _refuse(422, f"line {errors[0].line}", errors[0].reason, request)
        if not rows:
            return _refuse(422, "orders", "no orders in the body", request)
        # the delivery id is the v1 that matched (a function of t and the body): a junk v1
        # beside it cannot make a repeat look new
        report = import_rows(self.store, self.settings, rows, self.clock.now(),
                             delivery=(ORDERS_SOURCE, signature.delivery))
        return _done(report, "orders")


def _rows(mapped: Mapped, channels: ChannelRegistry) -> list[OrderRow]:
    """Our records through the importer's own row checks; the first bad one is the answer."""
    rows = []
    for index, record in enumerate(mapped.records):
        row = parse_row(record, index + 1, channels)
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
        payload = json.loads(body.decode("utf-8"))
        json.dumps(payload, ensure_ascii=False).encode("utf-8")     # a "\ud800" escape: no valid text
    except UnicodeDecodeError as exc:
        raise Unmappable("body", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except UnicodeEncodeError:
        raise Unmappable("body", "a string holds a lone surrogate escape (not valid Unicode)") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"{exc.msg} (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) \
            else "nested too deeply"
        raise Unmappable("body", f"invalid JSON: {where}") from None
    return payload


def _refuse(status: int, field: str, reason: str, request: web.Request) -> web.Response:
    field, reason = _printable(field), _printable(reason)
    log.warning("%s %s -> %d: %s: %s", request.method, request.path, status, field, reason)
    return web.json_response({"ok": False, "field": field, "reason": reason}, status=status)


def _printable(text: str, limit: int = 300) -> str:
    """Text fit for a log line and an answer: valid Unicode, bounded."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."


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
