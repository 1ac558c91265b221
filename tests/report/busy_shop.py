"""A busier shop than shop_fixture's, for the page's browser tests and its screenshots: three
weeks (Mon 2026-10-19 to Sun 2026-11-08), six named products, 60 customers on two channels and
four time zones, scores, cases of every kind, "it has been fixed" notices and governor holds.
Deterministic (a seeded random), written through the store's own repositories."""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from bot.store.store import Store
from tests.store.shop_fixture import Shop, at

PRODUCTS = {"TR2-44": ("Trail Runner 2", "footwear"), "NCH-700": ("Noise Cancelling Headphones 700", "electronics"),
            "SERUM-30": ("Vitamin C Serum 30 ml", "skincare"), "LDC-QUEEN": ("Linen Duvet Cover, Queen", "home"),
            "BTL-750": ("Insulated Bottle 750 ml", "outdoor"), "SOCKS": ("Merino Hiking Socks", "footwear")}
PROBLEMS = {"TR2-44": ["damaged", "size_fit"], "NCH-700": ["defective", "defective", "missing_part"],
            "SERUM-30": ["not_as_described"], "LDC-QUEEN": ["damaged"], "BTL-750": ["defective"], "SOCKS": []}
WORDS = {"damaged": ["the sole came off after a week", "box crushed, heel torn"],
         "size_fit": ["runs half a size small"],
         "defective": ["it won't pair with my phone", "left side goes silent", "battery dies in an hour"],
         "missing_part": ["no charging cable in the box"], "not_as_described": ["smells nothing like the photo said"]}
ZONES = ("Europe/Lisbon", "Europe/Berlin", "America/New_York", "Asia/Tokyo")


def build_busy_shop(store: Store) -> None:
    rng = random.Random(25)
    shop = Shop(store)
    skus = list(PRODUCTS)
    for n in range(60):
        channel = "slack" if n % 3 == 0 else "telegram"
        who = shop.customer(f"C-{n:03d}", f"Customer {n:03d}", channel, timezone=ZONES[n % len(ZONES)])
        sku = rng.choice(skus)
        name, category = PRODUCTS[sku]
        day = 19 + rng.randrange(21)                            # Oct 19 .. Nov 8
        month = 10 if day <= 31 else 11
        day = day if day <= 31 else day - 31
        order = f"O-{n:03d}"
        shop.order(order, who, sku, category, 20.0 + n, at(day, 9, month=month) - timedelta(days=5))
        store.db.execute("update line_items set product = ? where order_id = ?", [name, order])
        held = ("quiet_hours",) if n % 5 == 0 else ("weekly_cap",) if n % 11 == 0 else ()
        hour = rng.choice((7, 9, 12, 15, 18, 21))
        when = at(day, hour, month=month)
        answered = rng.random() < 0.8
        conversation = shop.touch("checkin", order, sku, who, when, answered=answered, held=held,
                                  delivered=n % 17 != 5)
        if not answered:
            continue
        kinds = PROBLEMS[sku]
        unhappy = kinds and rng.random() < 0.45
        csat = rng.choice((1, 2, 2, 3)) if unhappy else rng.choice((4, 5, 5, 5))
        shop.score(conversation, "csat", csat, when + timedelta(minutes=3),
                   "" if unhappy else rng.choice(("", "love it", "works great")))
        if unhappy:
            kind = rng.choice(kinds)
            shop.case(conversation, when + timedelta(minutes=5), kind, rng.choice(WORDS[kind]),
                      claim=rng.choice((4, 12, 40)), reply=rng.choice((15, 25, 90)),
                      resolve=rng.choice((60, 180, None)), request="refund" if n % 4 == 0 else None)
        if rng.random() < 0.7:
            nps = rng.choice((2, 5, 6)) if unhappy else rng.choice((7, 9, 10, 10))
            shop.score(conversation, "nps", nps, when + timedelta(minutes=4))
        if n % 9 == 0 and not unhappy:
            shop.score(conversation, "testimonial", 0, when + timedelta(minutes=6), "Best purchase this year.")
    # the headphones' pairing fix went out to the first two customers who reported it
    told = 0
    for row in store.db.execute("select e.customer_id, i.id from escalations e join identities i "
                                "on i.customer_id = e.customer_id join conversations c on c.id = e.conversation_id "
                                "where e.problem_type = 'defective' and c.sku = 'NCH-700' order by e.id").fetchall():
        if told < 2 and store.fix_notices.queue(row[0], row[1], "NCH-700", "defective", "Fixed!", at(8, 8)):
            notice = store.fix_notices.for_customer(row[0])[-1]
            store.fix_notices.finish(notice.id, "sent", at(8, 9))
            told += 1


def write_busy_shop(path: Path) -> Path:
    store = Store.open(path)
    with store.transaction():
        build_busy_shop(store)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path
