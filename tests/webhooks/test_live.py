"""`aftercare run` (the live wiring, `run_live`) serves the order webhooks on its own HTTP server:
an order pushed over HTTP is imported, and its thank-you reaches the customer's Telegram chat
(the loopback Bot API), with nothing but the webhook in between."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import aiohttp

from bot.live.app import run_live
from bot.base.clock import SystemClock
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store
from bot.webhooks.signing import sign_orders
from tests.support.harness import make_settings
from tests.support.table_parser import TableParser
from tests.support.waiting import until

SECRET = "live-orders-secret"


async def test_an_order_pushed_to_the_running_bot_gets_its_thank_you(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="aftercare")
    async with TelegramSandbox() as api:
        await api.add_user(4242)
        settings = make_settings(channels={"telegram": {"token": api.token, "api_url": api.url + "/"},
                                           "slack": {"enabled": False}},
                                 store={"path": str(tmp_path / "live.db")},
                                 webhooks={"orders_secret": SECRET}, server={"port": 0})
        stop = asyncio.Event()
        store = Store.open(tmp_path / "live.db")
        live = asyncio.create_task(run_live(settings, store, TableParser(), SystemClock(), stop=stop))
        try:
            # start-up is not what this test measures: a loaded machine gets a minute to say "ready:"
            await until(lambda: live.done() or any("ready:" in r.getMessage() for r in caplog.records),
                        timeout=60)
            assert not live.done(), live.exception()
            ready = next(r.getMessage() for r in caplog.records if "ready:" in r.getMessage())
            port = re.search(r"127\.0\.0\.1:(\d+)", ready).group(1)
            body = json.dumps({"orders": [{
                "order_id": "L-1", "customer_ref": "C-L1", "customer_name": "Lena Vogel", "channel": "telegram",
                "address": "4242", "product": "Linen Duvet Cover", "sku": "LDC-QUEEN", "category": "home",
                "purchased_at": SystemClock().now().isoformat()}]}).encode()
            headers = {"X-Aftercare-Signature": sign_orders(SECRET.encode(), body, int(time.time())),
                       "Content-Type": "application/json"}
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://127.0.0.1:{port}/webhooks/orders", data=body,
                                        headers=headers) as response:
                    assert response.status == 200 and (await response.json())["inserted"] == 1
            await until(lambda: api.messages_to(4242) or live.done(), timeout=30)
            assert not live.done(), live.exception()
        finally:
            stop.set()
            code = await live
    assert code == 0
    text = api.messages_to(4242)[0].text
    assert text.startswith("Thank you for your order, Lena!")
