"""Due check-in selection over 1,000,000 orders (target <= 50 ms: an index, not a scan), and
order import throughput.

    .venv/bin/python -m bench.schedule_bench [--orders 1000000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.base.clock import iso
from bot.config.loading import load_settings
from bot.orders.importing import import_rows
from bot.orders.files import OrderRow
from bot.store.store import Store


def fill_touchpoints(store: Store, orders: int, now: datetime) -> None:
    """Bulk-insert the touchpoints 1M imported orders would have (3 per order)."""
    rng = random.Random(7)
    kinds = (("thank_you", "thank_you", -30), ("checkin", "checkin", 0), ("nps", "nps", 30))

    def rows():
        for n in range(orders):
            base = now + timedelta(days=rng.uniform(-60, 60))
            for kind, flow, offset in kinds:
                due = base + timedelta(days=offset)
                yield {"order_id": f"B-{n}", "sku": "SKU-1", "kind": kind, "flow": flow, "due_at": iso(due),
                       "status": "pending" if due > now - timedelta(days=1) else "started"}

    store.db["touchpoints"].insert_all(rows(), batch_size=20_000)


def time_selection(store: Store, now: datetime, runs: int = 20) -> list[float]:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        store.orders.due_touchpoints(now, limit=500)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def time_import(orders: int, now: datetime) -> float:
    settings = load_settings("config.yml")
    store = Store.memory()
    rows = [OrderRow(line=n + 2, order_id=f"I-{n}", customer_ref=f"C-{n % 5000}", channel="telegram",
                     product="Trail Runner 2 shoes", sku="TR2-44", category="footwear",
                     purchased_at=now - timedelta(days=10), delivered_at=now - timedelta(days=3),
                     status="delivered", address=str(100000 + n % 5000)) for n in range(orders)]
    start = time.perf_counter()
    import_rows(store, settings, rows, now)
    return orders / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--import-orders", type=int, default=20_000)
    args = parser.parse_args(argv)
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        start = time.perf_counter()
        fill_touchpoints(store, args.orders, now)
        filled = time.perf_counter() - start
        plan = store.db.execute("explain query plan select * from touchpoints where status in ('pending', 'held') "
                                "and due_at <= ? order by due_at limit 500", [iso(now)]).fetchall()
        timings = time_selection(store, now)
        store.close()
    rate = time_import(args.import_orders, now)
    print(f"schedule: {args.orders:,} orders -> {args.orders * 3:,} touchpoints written in {filled:.1f} s")
    print(f"schedule: due selection (500 due of them) p50 {statistics.median(timings):.2f} ms, "
          f"max {max(timings):.2f} ms (target <= 50 ms); plan: {' / '.join(str(p[-1]) for p in plan)}")
    print(f"schedule: order import {rate:,.0f} orders/s ({args.orders / rate / 60:.1f} min for {args.orders:,})")


if __name__ == "__main__":
    main()
