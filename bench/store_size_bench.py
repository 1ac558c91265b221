"""How fast the store grows on disk, for sizing a machine (docs/going-live.md, "Sizing").

Imports ORDERS one-item orders through the product's import (customer, identity, order, line
item, its touchpoints), then writes CONVERSATIONS check-in conversations of 8 messages each the
way the bot does (a message row per side, an outbox row per bot message), and prints the file
size per order and per message after a WAL checkpoint.

    python -m bench store_size            # or: python -m bench.store_size_bench
"""
from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.config.loading import load_settings
from bot.orders.files import OrderRow
from bot.orders.importing import import_rows
from bot.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
ORDERS, CONVERSATIONS, TURNS = 5000, 5000, 8
BOT_TEXT = "Hi Ana! How are your Trail Runner 2 shoes working out so far? Tap a number from 1 (poor) to 5 (great)."
CUSTOMER_TEXT = "they are great, very comfortable on long runs"


def size(store: Store, path: Path) -> int:
    store.db.execute("pragma wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def main(argv: list[str]) -> int:
    settings = load_settings(ROOT / "config.yml", environ={})
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "size.db"
        store = Store.open(path)
        empty = size(store, path)
        rows = [OrderRow(line=n + 1, order_id=f"S-{n}", customer_ref=f"SC-{n}", channel="telegram",
                         product="Trail Runner 2 shoes", sku="TR2-44", category="footwear", customer_name=f"Size {n}",
                         email=f"s{n}@example.com", address=str(100000 + n), purchased_at=now - timedelta(days=2),
                         shipped_at=now - timedelta(days=1), status="shipped")
                for n in range(ORDERS)]
        import_rows(store, settings, rows, now)
        orders = size(store, path)
        identities = [store.customers.identities_of(c)[0] for c in range(1, CONVERSATIONS + 1)]
        with store.transaction():
            for identity in identities:
                conversation = store.conversations.create(identity.customer_id, identity.id, None, "TR2-44",
                                                          "checkin", "rate", now)
                for turn in range(TURNS):
                    if turn % 2 == 0:
                        outbox = store.outbox.add("telegram", identity.address, identity.id, conversation, BOT_TEXT,
                                                  now, buttons=[{"label": str(n), "value": str(n)} for n in range(1, 6)])
                        store.conversations.add_message(conversation, identity.id, "out", "bot", BOT_TEXT, now,
                                                        outbox_id=outbox)
                    else:
                        store.conversations.add_message(conversation, identity.id, "in", "customer", CUSTOMER_TEXT,
                                                        now)
        messages = size(store, path)
        store.close()
    per_order = (orders - empty) / ORDERS
    per_message = (messages - orders) / (CONVERSATIONS * TURNS)
    print(f"store: {per_order / 1024:.2f} KiB per order (with its touchpoints), {per_message:.0f} bytes per message "
          f"(with its outbox row); 10,000 orders and 80,000 messages ~ "
          f"{(10_000 * per_order + 80_000 * per_message) / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
