"""A shop's first day: it imports 90 days of past orders (`orders import --history`), starts the
bot (`run_live`: the real scheduler and dispatcher, the real Telegram adapter against the
loopback Bot API), and new orders arrive by webhook. Nobody is contacted about an order past
its window; `aftercare due` says why each old touchpoint was dropped."""
from __future__ import annotations

import asyncio
import csv
import json
import logging
import re
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from click.testing import CliRunner

from bot.live.app import run_live
from bot.cli import main
from bot.base.clock import SystemClock, iso, parse_iso
from bot.orders.files import COLUMNS
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.store.store import Store
from bot.webhooks.signing import sign_orders
from tests.support.harness import make_settings, write_config
from tests.support.table_parser import TableParser
from tests.support.waiting import until

SECRET = "first-day-secret"
HISTORY_CHAT = 70_000
NEW_CHAT, LATE_CHAT = 90_001, 90_002
KINDS = [("Trail Runner 2 shoes", "TR2-44", "footwear"), ("Noise-Cancelling Headphones", "NCH-700", "electronics"),
         ("Hydrating Serum 30 ml", "SERUM-30", "skincare"), ("Linen Duvet Cover", "LDC-QUEEN", "home")]


def history_rows(now: datetime) -> list[dict]:
    """One order a day for 90 days; 60 customers, so some have several; the latest ones not yet
    delivered (shipped, or only placed)."""
    rows = []
    for day in range(90):
        purchased = now - timedelta(days=90 - day, hours=3)
        shipped, delivered = purchased + timedelta(days=1), purchased + timedelta(days=3)
        status = "delivered" if delivered <= now else "shipped" if shipped <= now else "placed"
        product, sku, category = KINDS[day % len(KINDS)]
        customer = day % 60
        rows.append({"order_id": f"H-{day:03d}", "customer_ref": f"HC-{customer}", "customer_name": f"Past {customer}",
                     "channel": "telegram", "address": str(HISTORY_CHAT + customer), "timezone": "Europe/Lisbon",
                     "language": "en", "product": product, "sku": sku, "category": category, "quantity": "1",
                     "price": "10.00", "purchased_at": iso(purchased),
                     "shipped_at": iso(shipped) if status != "placed" else "",
                     "delivered_at": iso(delivered) if status == "delivered" else "", "status": status,
                     "consent": "yes"})
    return rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def webhook_order(order_id: str, chat: int, purchased: datetime, delivered: datetime | None = None) -> dict:
    order = {"order_id": order_id, "customer_ref": f"C-{order_id}", "customer_name": "Nia New", "channel": "telegram",
             "address": str(chat), "product": "Linen Duvet Cover", "sku": "LDC-QUEEN", "category": "home",
             "purchased_at": purchased.isoformat()}
    if delivered is not None:
        order.update(shipped_at=(delivered - timedelta(days=2)).isoformat(), delivered_at=delivered.isoformat(),
                     status="delivered")
    return order


async def post_orders(port: str, orders: list[dict]) -> dict:
    body = json.dumps({"orders": orders}).encode()
    headers = {"X-Aftercare-Signature": sign_orders(SECRET.encode(), body, int(time.time())),
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/webhooks/orders", data=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def test_a_first_day_sends_nothing_about_orders_past_their_window(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="aftercare")
    db = tmp_path / "shop.db"
    config = write_config(tmp_path, db)
    cli = CliRunner()
    now = SystemClock().now()
    rows = history_rows(now)
    imported = cli.invoke(main, ["--config", str(config), "orders", "import", "--history",
                                 str(write_csv(tmp_path / "history.csv", rows))])
    assert imported.exit_code == 0, imported.output
    assert "90 new" in imported.output

    with closing(Store.open(db)) as store:
        points = [t for row in rows for t in store.orders.touchpoints(row["order_id"])]
    past = [t for t in points if parse_iso(t.due_at) <= now]
    assert len(past) > 200                                      # a real backlog: thank-yous, check-ins, tips, NPS
    assert {t.status for t in past} <= {"expired", "skipped:history"}, {t.status for t in past}
    assert all(t.status == "pending" for t in points if parse_iso(t.due_at) > now)     # the future is kept

    async with TelegramSandbox() as api:
        for customer in range(60):
            await api.add_user(HISTORY_CHAT + customer)
        await api.add_user(NEW_CHAT)
        await api.add_user(LATE_CHAT)
        settings = make_settings(channels={"telegram": {"token": api.token, "api_url": api.url + "/"},
                                           "slack": {"enabled": False}},
                                 store={"path": str(db)}, webhooks={"orders_secret": SECRET}, server={"port": 0})
        stop = asyncio.Event()
        live = asyncio.create_task(run_live(settings, Store.open(db), TableParser(), SystemClock(), stop=stop))
        try:
            await until(lambda: live.done() or any("ready:" in r.getMessage() for r in caplog.records))
            assert not live.done(), live.exception()
            ready = next(r.getMessage() for r in caplog.records if "ready:" in r.getMessage())
            port = re.search(r"127\.0\.0\.1:(\d+)", ready).group(1)
            # a new order, and an old one the shop's system pushes late (delivered 46 days ago: past even the NPS window, 30d + 14d)
            late = now - timedelta(days=46)
            answer = await post_orders(port, [webhook_order("N-1", NEW_CHAT, now),
                                              webhook_order("N-0", LATE_CHAT, late - timedelta(days=3), late)])
            assert answer["inserted"] == 2
            await until(lambda: api.messages_to(NEW_CHAT) or live.done())
            await asyncio.sleep(1.5)                     # the main loop's turns: anything else due would go now
            assert not live.done(), live.exception()
        finally:
            stop.set()
            assert await live == 0
        assert api.messages_to(NEW_CHAT)[0].text.startswith("Thank you for your order, Nia!")
        assert api.messages_to(LATE_CHAT) == []
        stale = {chat: api.messages_to(chat) for chat in range(HISTORY_CHAT, HISTORY_CHAT + 60)}
        assert {chat: sent for chat, sent in stale.items() if sent} == {}

    due = cli.invoke(main, ["--config", str(config), "due", "--within", "0d", "--dropped", "1d"])
    assert due.exit_code == 0, due.output
    lines = due.output.splitlines()
    with closing(Store.open(db)) as store:
        dropped = [t for order in [*rows, {"order_id": "N-0"}] for t in store.orders.touchpoints(order["order_id"])
                   if t.status in ("expired", "skipped:history")]
        late_checkin = next(t for t in store.orders.touchpoints("N-0") if t.kind == "checkin")
    for touchpoint in dropped:                                      # one line each, with its reason
        line = next((line for line in lines if re.search(rf"\b{touchpoint.id}\b.*{touchpoint.order_id}", line)), None)
        assert line is not None, touchpoint
        assert "too old:" in line or "history import:" in line, line
    assert late_checkin.status == "expired"
    assert "dropped: too old: delivered 46 days ago; a checkin goes out within 14 days" in late_checkin.held_reason

    page = cli.invoke(main, ["--config", str(config), "due", "--within", "0d", "--dropped", "1d", "--limit", "10"])
    assert page.exit_code == 0, page.output
    assert f"{len(dropped) - 10} more not shown" in page.output
