"""Milestones as touchpoint kinds: timed from the customer's first order (`from: first_purchase`),
put on their Nth order (`nth_order`), kept only while a product is still bought (`still_buying`),
and re-timed when an earlier order arrives later."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.config.settings import Audience
from bot.orders.importing import import_file
from bot.schedule.touchpoints import OrderFacts, touchpoints_for
from bot.store.rows import PastOrder
from bot.store.store import Store
from tests.support.harness import Harness, make_settings
from tests.test_importing import csv_file, row

UTC = timezone.utc
DAY0 = datetime(2025, 11, 2, 10, 0, tzinfo=UTC)
SCHEDULE = make_settings().schedule


def facts(order_id: str, days: int, sku: str = "TR2-44", history: tuple = ()) -> OrderFacts:
    at = DAY0 + timedelta(days=days)
    return OrderFacts(order_id, sku, "skincare" if sku == "SERUM-30" else "footwear", 1, at, at, at, "delivered",
                      history=history)


def past(order_id: str, days: int, sku: str = "TR2-44") -> PastOrder:
    return PastOrder(order_id, DAY0 + timedelta(days=days), frozenset({sku}),
                     frozenset({"skincare" if sku == "SERUM-30" else "footwear"}))


def kinds(order: OrderFacts) -> dict[str, datetime]:
    return {p.kind: p.due_at for p in touchpoints_for(order, SCHEDULE, {}) if p.kind not in
            ("thank_you", "checkin", "nps", "replenishment", "delay_notice", "tip_day1", "tip_week1", "tip_month1")}


def test_the_anniversary_goes_on_the_first_order_only():
    history = (past("O-1", 0), past("O-2", 40))
    assert kinds(facts("O-1", 0, history=history)) == {"anniversary": DAY0 + timedelta(days=365)}
    assert kinds(facts("O-2", 40, history=history)) == {}


def test_the_tenth_order_milestone_goes_on_the_tenth_order_only():
    history = tuple(past(f"O-{n}", 10 * n) for n in range(1, 11))
    tenth = facts("O-10", 100, history=history)
    assert kinds(tenth) == {"tenth_order": tenth.delivered_at + timedelta(days=10)}
    assert "tenth_order" not in kinds(facts("O-9", 90, history=history))
    assert "tenth_order" not in kinds(facts("O-11", 110, history=history + (past("O-11", 110),)))


def test_months_of_a_product_only_while_it_is_still_bought():
    monthly = tuple(past(f"S-{n}", 30 * n, "SERUM-30") for n in range(0, 6))      # day 0 .. day 150
    first = facts("S-0", 0, "SERUM-30", monthly)
    assert kinds(first)["serum_half_year"] == DAY0 + timedelta(days=182)
    stopped = monthly[:3]                                                           # last bought on day 60
    assert "serum_half_year" not in kinds(facts("S-0", 0, "SERUM-30", stopped))


def test_an_audience_limits_which_order_counts_as_first():
    history = (past("O-1", 0), past("S-1", 20, "SERUM-30"))
    assert PastOrder("x", DAY0, frozenset({"SERUM-30"}), frozenset({"skincare"})).has(Audience(skus=["SERUM-30"]))
    assert "serum_half_year" not in kinds(facts("O-1", 0, history=history))


def test_an_earlier_order_imported_later_takes_the_anniversary_over(tmp_path):
    store, settings = Store.memory(), make_settings()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    import_file(store, settings, csv_file(tmp_path, row(order_id="A-2", purchased_at="2026-06-01T10:00:00Z",
                                                        delivered_at="2026-06-04T10:00:00Z")), now)
    assert {t.kind: t.status for t in store.orders.touchpoints("A-2")}["anniversary"] == "pending"
    before = {t.kind: (t.status, t.due_at) for t in store.orders.touchpoints("A-2") if t.kind != "anniversary"}
    import_file(store, settings, csv_file(tmp_path, row(order_id="A-1", purchased_at="2026-03-01T10:00:00Z",
                                                        delivered_at="2026-03-04T10:00:00Z"), name="older.csv"), now)
    assert {t.kind: t.status for t in store.orders.touchpoints("A-2")}["anniversary"] == "cancelled"
    anniversary = {t.kind: t for t in store.orders.touchpoints("A-1")}["anniversary"]
    assert (anniversary.status, anniversary.due_at[:10]) == ("pending", "2027-03-01")
    assert anniversary.expires_at[:10] == "2027-03-15"
    # the other kinds of A-2 were left alone by the re-timing
    assert before["checkin"][0] == "expired"          # delivered in June: too old to send in November
    assert {t.kind: (t.status, t.due_at) for t in store.orders.touchpoints("A-2") if t.kind != "anniversary"} == before


async def test_a_once_per_customer_kind_that_already_went_out_is_dropped_not_sent_again():
    """The anniversary went out on A-1; an earlier order imported later becomes the first one
    and carries a new anniversary touchpoint: it is dropped when it falls due, with its reason."""
    start = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    h = Harness(start=start)
    h.add_order("A-1", purchased=start - timedelta(days=300), delivered=start - timedelta(days=296))
    anniversary = h.touchpoint("A-1", "anniversary")
    h.store.orders.finish_touchpoint(anniversary.id, "started", start - timedelta(days=1))
    h.add_order("A-0", purchased=start - timedelta(days=364), delivered=start - timedelta(days=360))
    h.store.orders.skip_touchpoints_before("A-0", start)
    assert h.touchpoint("A-0", "anniversary").status == "pending"
    due = [item for item in h.core.scheduler.due_report(start, timedelta(days=2)) if item.kind == "anniversary"]
    assert [item.verdict for item in due] == ["dropped: it already went to this customer (once per customer)"]
    await h.advance(timedelta(days=2))
    assert h.touchpoint("A-0", "anniversary").status == "skipped:once_per_customer"
    assert not any("A year ago" in text for text in h.texts())


async def test_aftercare_due_says_why_a_milestone_will_never_go_out():
    """A low score a week ago: the anniversary due tomorrow is explained as never sent, and dropped."""
    start = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    h = Harness(start=start)
    h.add_order("A-1", purchased=start - timedelta(days=364), delivered=start - timedelta(days=360))
    h.add_order("A-2", purchased=start - timedelta(days=12), delivered=start - timedelta(days=9))
    customer = h.customer_id("C-1")
    h.store.conversations.add_response(1, customer, "A-2", "TR2-44", "csat", 2, "", None, [],
                                       start - timedelta(days=7))
    due = [item for item in h.core.scheduler.due_report(start, timedelta(days=2)) if item.kind == "anniversary"]
    assert [item.verdict for item in due] == ["dropped: a low score or a case too recently for a milestone"]
    h.store.orders.skip_touchpoints_before("A-2", start + timedelta(days=2))
    await h.advance(timedelta(days=2))
    assert h.touchpoint("A-1", "anniversary").status == "suppressed:recent_trouble"
