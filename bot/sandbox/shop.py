"""The shop's own system in the sandbox: it pushes orders to `aftercare run` as they happen.

Each order of `data/sample_webhook_orders.json` lives through three deliveries to POST
/webhooks/orders, at the simulated moment each happens: placed (at purchase), shipped (with the
carrier's estimate), delivered. They are signed with X-Aftercare-Signature and go over real
HTTP to the app's server, exactly as another shop system's would; an order delivered after
its estimate gets a delay notice first, and its check-in is timed from the real delivery.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Callable

import aiohttp

from bot.base.clock import Clock
from bot.orders.files import OrderRow
from bot.sandbox.cast import Timeline
from bot.webhooks.http import ORDERS_PATH
from bot.webhooks.signing import SIGNATURE_HEADER, sign_orders

log = logging.getLogger(__name__)
Narrate = Callable[[datetime, str, str], None]


def stages(row: OrderRow) -> list[tuple[datetime, str, OrderRow]]:
    """(when, what, the order as the shop knows it then) for one line item."""
    placed = replace(row, shipped_at=None, delivered_at=None, expected_at=None, shipment_status=None,
                     status="placed")
    found = [(row.purchased_at, "placed", placed)]
    if row.shipped_at is not None:
        shipped = replace(row, delivered_at=None, status="shipped", shipment_status="in_transit")
        found.append((row.shipped_at, "shipped", shipped))
    if row.delivered_at is not None:
        found.append((row.delivered_at, "delivered", replace(row, status="delivered", shipment_status="delivered")))
    return found


class ShopFeed:
    """Posts each stage of each order to the orders webhook at its simulated time."""

    def __init__(self, base_url: str, secret: bytes, clock: Clock, narrate: Narrate,
                 describe: Callable[[str], str] = lambda order_id: "") -> None:
        self.url = base_url.rstrip("/") + ORDERS_PATH
        self.describe = describe
        self.secret = secret
        self.clock = clock
        self.narrate = narrate
        self.answers: list[tuple[str, str, int]] = []          # (order id, stage, HTTP status)

    def plan(self, rows: list[OrderRow], timeline: Timeline) -> None:
        by_stage: dict[tuple[datetime, str, str], list[OrderRow]] = {}
        for row in rows:
            for at, what, state in stages(row):
                by_stage.setdefault((at, what, row.order_id), []).append(state)
        for (at, what, order_id), states in sorted(by_stage.items()):
            timeline.add(at, f"shop: {order_id} {what}",
                         functools.partial(self.post, at, what, order_id, states))

    async def post(self, at: datetime, what: str, order_id: str, states: list[OrderRow]) -> None:
        body = json.dumps({"orders": [state.record() for state in states]}).encode()
        signature = sign_orders(self.secret, body, int(self.clock.now().timestamp()))
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url, data=body, headers={SIGNATURE_HEADER: signature,
                                                                  "Content-Type": "application/json"}) as response:
                answer = await response.json(content_type=None)
        self.answers.append((order_id, what, response.status))
        done = ", ".join(f"{n} {k}" for k, n in answer.items() if isinstance(n, int) and n and k != "ok") or \
            answer.get("reason", "")
        after = self.describe(order_id) if response.status == 200 else ""
        self.narrate(at, "shop", f"POST {ORDERS_PATH} {order_id} {what} → {response.status} {done}".rstrip()
                     + (f"; {after}" if after else ""))
