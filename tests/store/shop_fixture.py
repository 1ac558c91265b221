"""A small shop written straight into the store, whose report figures are computed by hand in
test_reporting.py. Only the store's own repositories write (like the bot does)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from bot.base.clock import iso
from bot.store.store import Store

UTC = timezone.utc


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Shop:
    """Builds customers, orders, check-ins, scores and cases the way the running bot records them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.identities: dict[int, int] = {}

    def customer(self, ref: str, name: str, channel: str = "telegram", timezone: str = "Europe/Lisbon") -> int:
        customer_id = self.store.customers.upsert(ref, name, f"{ref.lower()}@example.com", timezone, "en",
                                                  at(1, month=1))
        self.identities[customer_id] = self.store.customers.ensure_identity(
            customer_id, channel, f"addr-{ref}", True, at(1, month=1), source="test")
        return customer_id

    def order(self, order_id: str, customer_id: int, sku: str, category: str, price: float, purchased: datetime,
              quantity: int = 1) -> str:
        self.store.orders.upsert_order({"order_id": order_id, "customer_id": customer_id, "channel": "web",
                                        "status": "delivered", "purchased_at": iso(purchased),
                                        "shipped_at": iso(purchased + timedelta(days=1)),
                                        "delivered_at": iso(purchased + timedelta(days=3))}, purchased)
        self.store.orders.upsert_item({"order_id": order_id, "product": sku.title(), "sku": sku, "category": category,
                                       "quantity": quantity, "price": price})
        return order_id

    def touch(self, kind: str, order_id: str, sku: str, customer_id: int, when: datetime, answered: bool,
              delivered: bool = True, slots: Optional[dict] = None, held: tuple[str, ...] = ()) -> int:
        """A touchpoint started at `when`: its conversation, the bot's message (sent or refused) and,
        when `answered`, the customer's reply a minute later; `held`: the governor held it first
        for these reasons (quiet_hours, weekly_cap), in turn."""
        identity_id = self.identities[customer_id]
        self.store.orders.set_touchpoints(order_id, sku, [{"kind": kind, "flow": kind, "due_at": iso(when)}])
        touchpoint = next(t for t in self.store.orders.touchpoints(order_id) if t.kind == kind and t.sku == sku)
        for reason in held:
            self.store.orders.hold_touchpoint(touchpoint.id, when, reason)
        conversation = self.store.conversations.create(customer_id, identity_id, order_id, sku, kind, "ask", when)
        self.store.orders.finish_touchpoint(touchpoint.id, "started", when, conversation)
        outbox_id = self.store.outbox.add("telegram", f"addr-{customer_id}", identity_id, conversation, "Hi!", when)
        self.store.outbox.claim(outbox_id, when)
        if delivered:
            self.store.outbox.sent(outbox_id, "p-1", when)
        else:
            self.store.outbox.fail(outbox_id, "unreachable", "Forbidden: bot was blocked by the user")
            self.store.customers.mark_unreachable(identity_id)
        self.store.conversations.add_message(conversation, identity_id, "out", "bot", "Hi!", when, outbox_id=outbox_id)
        if answered:
            self.store.conversations.add_message(conversation, identity_id, "in", "customer", "reply",
                                                 when + timedelta(minutes=1))
        state = {"flow": kind, "step": "done", "slots": slots or {}, "status": "closed", "owner": "bot",
                 "wake_at": None, "wake_kind": None, "reminded": False}
        self.store.conversations.save(conversation, state, when + timedelta(minutes=2))
        return conversation

    def score(self, conversation: int, metric: str, score: int, when: datetime, text: str = "") -> None:
        row = self.store.conversations.get(conversation)
        self.store.conversations.add_response(conversation, row.customer_id, row.order_id, row.sku, metric,
                                              score, text, None, [], when)

    def case(self, conversation: int, opened: datetime, problem: Optional[str], text: str,
             claim: Optional[int] = None, reply: Optional[int] = None, resolve: Optional[int] = None,
             request: Optional[str] = None) -> int:
        """A case opened at `opened`; claim/reply/resolve are minutes after opening (None: not yet)."""
        row = self.store.conversations.get(conversation)
        case_id = self.store.cases.open(conversation, row.customer_id, row.order_id, "product_problem", problem,
                                        text, [], opened, timedelta(minutes=30), request=request)
        for column, minutes in (("claimed_at", claim), ("first_reply_at", reply), ("resolved_at", resolve)):
            if minutes is not None:
                self.store.cases.update(case_id, **{column: opened + timedelta(minutes=minutes)})
        if resolve is not None:
            self.store.cases.update(case_id, status="resolved")
        elif claim is not None:
            self.store.cases.update(case_id, status="claimed", agent="U1")
        return case_id


def build_shop(store: Store) -> dict[str, int]:
    """The shop of the hand-computed figures (the week of Mon 2026-11-02 to Sun 2026-11-08)."""
    shop = Shop(store)
    ana = shop.customer("C-ANA", "Ana Silva")
    ben = shop.customer("C-BEN", "Ben Carter", "slack")
    yuki = shop.customer("C-YUKI", "Yuki Tanaka")
    lena = shop.customer("C-LENA", "Lena Vogel")
    dan = shop.customer("C-DAN", "Dan Brown", "slack")
    fay = shop.customer("C-FAY", "Fay Wong")

    shop.order("A1", ana, "TR2-44", "footwear", 129.00, at(10, month=5))
    shop.order("A5", ana, "SOCKS", "footwear", 10.00, at(3))
    shop.order("B1", ben, "NCH-700", "electronics", 249.99, at(20, month=10))
    shop.order("Y0", yuki, "SERUM-30", "skincare", 38.50, at(15, month=10), quantity=2)
    shop.order("Y1", yuki, "SERUM-30", "skincare", 38.50, at(28, month=10), quantity=2)
    shop.order("L1", lena, "TR2-44", "footwear", 129.00, at(5, month=10))
    shop.order("D1", dan, "LDC-QUEEN", "home", 89.00, at(1))
    shop.order("F1", fay, "TR2-44", "footwear", 129.00, at(2))

    # the week before (previous period): Yuki answers a check-in
    y0 = shop.touch("checkin", "Y0", "SERUM-30", yuki, at(27, month=10), answered=True)
    shop.score(y0, "csat", 4, at(27, 10, 5, month=10), "lovely")

    a1 = shop.touch("checkin", "A1", "TR2-44", ana, at(2), answered=True,
                    slots={"csat": 5, "review_requested": True, "review_accepted": True, "upsell_offered": True})
    shop.score(a1, "csat", 5, at(2, 10, 1))
    b1 = shop.touch("checkin", "B1", "NCH-700", ben, at(3), answered=True)
    shop.score(b1, "csat", 2, at(3, 10, 1), "battery dies in an hour")
    shop.case(b1, at(3, 12), "defective", "battery dies in an hour", claim=10, reply=20, resolve=120)
    shop.score(b1, "ces", 6, at(4))
    shop.touch("checkin", "Y1", "SERUM-30", yuki, at(4), answered=False)
    l1 = shop.touch("checkin", "L1", "TR2-44", lena, at(5), answered=True)
    shop.score(l1, "csat", 1, at(5, 9, 50), "the sole came off")
    shop.case(l1, at(5, 10), "damaged", "the sole came off", request="refund")
    f1 = shop.touch("checkin", "F1", "TR2-44", fay, at(6), answered=True)
    shop.score(f1, "csat", 1, at(6, 10, 1), "FAY-PRIVATE-WORDS")
    d1 = shop.touch("checkin", "D1", "LDC-QUEEN", dan, at(8, 23), answered=True)
    shop.score(d1, "csat", 2, at(8, 23, 1), "scratchy fabric")
    a_nps = shop.touch("nps", "A1", "TR2-44", ana, at(6), answered=True)
    shop.score(a_nps, "nps", 10, at(6, 10, 1))
    b_nps = shop.touch("nps", "B1", "NCH-700", ben, at(7), answered=True)
    shop.score(b_nps, "nps", 6, at(7, 10, 1))
    store.customers.opt_out(shop.identities[ben], at(7, 10, 2), source=f"conversation:{b_nps}")
    shop.touch("replenishment", "Y1", "SERUM-30", yuki, at(7), answered=False, delivered=False,
               slots={"upsell_offered": True})
    return {"ana": ana, "ben": ben, "yuki": yuki, "lena": lena, "dan": dan, "fay": fay}


def forget(store: Store, customer_id: int) -> None:
    """`aftercare customer forget`, as the CLI does it (after the week, on 2026-11-20)."""
    with store.transaction():
        store.privacy.forget(customer_id, "test", at(20))


def write_shop(path) -> dict[str, int]:
    """The shop in a store file (Fay forgotten), closed and checkpointed, for commands to open."""
    store = Store.open(path)
    people = build_shop(store)
    forget(store, people["fay"])
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return people
