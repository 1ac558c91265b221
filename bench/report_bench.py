"""`aftercare report` over a large store: 50,000 customers, each with an order, a check-in (80%
answered) and a CSAT score, one in seven with a case (target: the whole report <= 5 s, so it must
grow with the store, not with its square).

    .venv/bin/python -m bench.report_bench [--customers 50000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.base.clock import iso
from bot.store.reporting import Period, Reporting, open_read_only
from bot.store.store import Store

TARGET_SECONDS = 5.0
START = datetime(2026, 9, 1, 9, tzinfo=timezone.utc)


def fill(store: Store, customers: int) -> None:
    """Rows as the bot writes them, bulk-inserted (the bot's own path is timed elsewhere)."""
    db = store.db

    def at(n: int, minutes: int = 0) -> str:
        return iso(START + timedelta(hours=n % 2000, minutes=minutes))

    db["customers"].insert_all(({"id": n, "ref": f"C-{n}", "name": f"Customer {n}", "created_at": at(n)}
                                for n in range(1, customers + 1)), batch_size=10_000)
    db["identities"].insert_all(({"id": n, "customer_id": n, "channel": "telegram" if n % 3 else "slack",
                                  "address": str(n), "reachable": 1, "consent": 1, "opted_out": 0}
                                 for n in range(1, customers + 1)), batch_size=10_000)
    db["orders"].insert_all(({"order_id": f"O-{n}", "customer_id": n, "channel": "telegram", "status": "delivered",
                              "purchased_at": at(n), "delivered_at": at(n, 60)} for n in range(1, customers + 1)),
                            batch_size=10_000)
    db["line_items"].insert_all(({"order_id": f"O-{n}", "product": "P", "sku": f"SKU-{n % 60}",
                                  "category": f"cat-{n % 8}", "quantity": 1, "price": 25.0}
                                 for n in range(1, customers + 1)), batch_size=10_000)
    db["conversations"].insert_all(({"id": n, "customer_id": n, "identity_id": n, "order_id": f"O-{n}",
                                     "sku": f"SKU-{n % 60}", "flow": "checkin", "step": "done", "status": "closed",
                                     "slots": '{"review_requested": true}' if n % 4 == 0 else "{}",
                                     "created_at": at(n, 90), "updated_at": at(n, 95)}
                                    for n in range(1, customers + 1)), batch_size=10_000)
    db["touchpoints"].insert_all(({"order_id": f"O-{n}", "sku": f"SKU-{n % 60}", "kind": "checkin", "flow": "checkin",
                                   "due_at": at(n, 90), "status": "started", "started_at": at(n, 90),
                                   "conversation_id": n} for n in range(1, customers + 1)), batch_size=10_000)
    db["outbox"].insert_all(({"channel": "telegram", "address": str(n), "identity_id": n, "conversation_id": n,
                              "kind": "message", "text": "How is it?", "status": "sent", "created_at": at(n, 90),
                              "sent_at": at(n, 90)} for n in range(1, customers + 1)), batch_size=10_000)
    answered = [n for n in range(1, customers + 1) if n % 5]
    db["messages"].insert_all(({"conversation_id": n, "identity_id": n, "direction": "in", "sender": "customer",
                                "text": "4", "at": at(n, 91)} for n in answered), batch_size=10_000)
    db["responses"].insert_all(({"conversation_id": n, "customer_id": n, "order_id": f"O-{n}", "sku": f"SKU-{n % 60}",
                                 "metric": "csat", "score": 1 + n % 5, "text": "words" if n % 9 == 0 else "",
                                 "at": at(n, 91)} for n in answered), batch_size=10_000)
    db["escalations"].insert_all(({"conversation_id": n, "customer_id": n, "order_id": f"O-{n}", "reason": "product_problem",
                                   "problem_type": "damaged", "status": "resolved" if n % 2 else "open",
                                   "text": "broken", "opened_at": at(n, 92), "claimed_at": at(n, 97),
                                   "first_reply_at": at(n, 99), "resolved_at": at(n, 150) if n % 2 else None,
                                   "sla_due_at": at(n, 122)} for n in answered if n % 7 == 0), batch_size=10_000)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = Store.open(path)
        with store.transaction():
            fill(store, args.customers)
        store.close()
        reporting = Reporting(open_read_only(path))
        now = START + timedelta(days=120)
        timings = {}
        for name, run in (("report", lambda: reporting.report(Period(), now)),
                          ("--by sku", lambda: reporting.groups(Period(), "sku", now)),
                          ("--by cohort", lambda: reporting.groups(Period(), "cohort", now)),
                          ("--by week", lambda: reporting.groups(Period(), "week", now))):
            start = time.perf_counter()
            run()
            timings[name] = time.perf_counter() - start
    whole = timings["report"]
    print(f"report: {args.customers:,} customers, whole report {whole:.2f} s (target <= {TARGET_SECONDS:g} s); "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items() if name != "report"))


if __name__ == "__main__":
    main()
