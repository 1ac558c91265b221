"""Telegram customers who bought two months ago and whose touchpoints are all done, so
every message they write is free text to the bot and nothing proactive interferes: the
starting point of the live benchmarks and of the tests that drive `aftercare run` itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.config.loading import load_settings
from bot.orders.files import OrderRow
from bot.orders.importing import import_rows
from bot.store.store import Store


def prepare_quiet_customers(db: Path, config: Path, customers: int, first_chat: int, prefix: str) -> None:
    """`customers` Telegram customers at chats first_chat, first_chat + 1, ..., each with a
    delivered order `{prefix}-N` of one product; `db` is created or added to."""
    settings = load_settings(config, environ={})
    store = Store.open(db)
    try:
        now = datetime.now(timezone.utc)
        rows = [OrderRow(line=n + 1, order_id=f"{prefix}-{n}", customer_ref=f"{prefix}C-{n}", channel="telegram",
                         product="Trail Runner 2 shoes", sku="TR2-44", category="footwear",
                         purchased_at=now - timedelta(days=60), customer_name=f"Customer {n}",
                         address=str(first_chat + n), status="delivered", shipped_at=now - timedelta(days=59),
                         delivered_at=now - timedelta(days=57)) for n in range(customers)]
        import_rows(store, settings, rows, now)
        for row in rows:
            store.orders.skip_touchpoints_before(row.order_id, now + timedelta(days=3650))
    finally:
        store.close()
