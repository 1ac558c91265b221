"""Every report figure against numbers computed by hand from tests/store/shop_fixture.py, and the
edges: no data, no responses, all passives, one response, a forgotten customer."""
from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from sqlite_utils import Database

from bot.store.reporting import Period, Reporting, empty_figures, open_read_only
from bot.store.store import Store
from tests.store.shop_fixture import Shop, at, build_shop, forget

WEEK = Period(date(2026, 11, 2), date(2026, 11, 8))
NOW = at(30)


@pytest.fixture
def shop_store() -> tuple[Store, dict]:
    store = Store.memory()
    people = build_shop(store)
    forget(store, people["fay"])
    return store, people


def report(store: Store, period: Period = WEEK, **kw) -> dict:
    return Reporting(store.db).report(period, NOW, **kw)


def test_overall_figures_match_the_hand_computed_week(shop_store):
    store, _ = shop_store
    overall = report(store)["overall"]
    assert overall == {
        # check-ins A1 B1 Y1 L1 F1 D1 (Sun 23:00 still counts), Y1 unanswered
        "checkins_sent": 6, "responses": 5, "response_rate": 0.8333,
        # 5, 2, 1, 1 (forgotten Fay: anonymous score kept), 2
        "csat": {"n": 5, "mean": 2.2, "satisfied_pct": 0.2,
                 "distribution": {"1": 2, "2": 2, "3": 0, "4": 0, "5": 1}},
        "nps": {"n": 2, "promoters": 1, "passives": 0, "detractors": 1, "score": 0.0},
        "ces": {"n": 1, "mean": 6.0},
        # answered conversations: 5 check-ins + 2 NPS = 7, two with a case
        "escalation_rate": 0.2857,
        "cases": {"opened": 2, "claimed": 1, "resolved": 1, "median_minutes_to_claim": 10.0,
                  "median_minutes_to_first_reply": 20.0, "median_minutes_to_resolve": 120.0,
                  # B1 answered within its SLA, L1 never: 1 of 2 decided cases met it
                  "sla_breaches": 1, "sla_met_pct": 0.5, "goodwill_codes": 0},
        "reviews": {"requested": 1, "accepted": 1},
        "upsells": {"offered": 1, "clicked": None},
        "replenishment": {"offered": 1, "clicked": None},
        "referrals": {"asked": 0, "links": 0, "converted": 0, "rate": None, "referred_orders": 0, "testimonials": 0},
        "opt_outs": 1,
        "unreachable": 1,
    }


def test_the_previous_week_is_its_own_period(shop_store):
    store, _ = shop_store
    data = report(store, compare=True)
    before = data["previous"]
    assert before["period"] == {"since": "2026-10-26", "until": "2026-11-01"}
    assert before["overall"]["checkins_sent"] == 1
    assert before["overall"]["csat"] == {"n": 1, "mean": 4.0, "satisfied_pct": 1.0,
                                         "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    assert before["overall"]["cases"]["opened"] == 0
    assert before["overall"]["cases"]["median_minutes_to_claim"] is None


def test_slices_by_sku_add_up_and_keep_nulls_for_no_data(shop_store):
    store, _ = shop_store
    groups = {g["key"]: g for g in report(store, by="sku")["groups"]}
    assert set(groups) == {"TR2-44", "NCH-700", "SERUM-30", "LDC-QUEEN"}
    assert groups["TR2-44"]["csat"]["n"] == 3 and groups["TR2-44"]["csat"]["mean"] == 2.33
    assert groups["NCH-700"]["cases"]["median_minutes_to_resolve"] == 120.0
    serum = groups["SERUM-30"]
    assert (serum["checkins_sent"], serum["responses"], serum["response_rate"]) == (1, 0, 0.0)
    assert serum["csat"]["mean"] is None and serum["csat"]["n"] == 0
    assert serum["replenishment"]["offered"] == 1 and serum["unreachable"] == 1
    assert groups["NCH-700"]["opt_outs"] == 1
    assert sum(g["checkins_sent"] for g in groups.values()) == 6
    assert sum(g["csat"]["n"] for g in groups.values()) == 5


def test_slices_by_channel_category_and_week(shop_store):
    store, _ = shop_store
    channels = {g["key"]: g for g in report(store, by="channel")["groups"]}
    assert {k: (g["checkins_sent"], g["responses"]) for k, g in channels.items()} == {"slack": (2, 2), "telegram": (4, 3)}
    categories = {g["key"]: g["csat"]["n"] for g in report(store, by="category")["groups"]}
    assert categories == {"electronics": 1, "footwear": 3, "home": 1, "skincare": 0}
    weeks = report(store, by="week")["groups"]
    assert [g["key"] for g in weeks] == ["2026-11-02"]            # Sunday 23:00 is still that week
    overall = report(store)["overall"]
    assert {k: v for k, v in weeks[0].items() if k != "key"} == overall


def test_cohorts_add_repeat_purchase_rate_and_revenue_per_customer(shop_store):
    store, _ = shop_store
    cohorts = {g["key"]: g for g in report(store, by="cohort")["groups"]}
    assert set(cohorts) == {"2026-05", "2026-10", "2026-11"}
    assert {k: (g["customers"], g["repeat_purchase_rate"], g["revenue_per_customer"]) for k, g in cohorts.items()} == {
        "2026-05": (1, 1.0, 139.0),                 # Ana: A1 + A5
        "2026-10": (3, 0.3333, 177.66),             # Ben 249.99, Yuki 2 x 77.00, Lena 129.00
        "2026-11": (2, 0.0, 109.0),                 # Dan 89.00, Fay 129.00
    }
    overall = report(store, by="cohort")["overall"]
    assert (overall["customers"], overall["repeat_purchase_rate"], overall["revenue_per_customer"]) == (
        6, 0.3333, 148.33)            # (139 + 249.99 + 154 + 129 + 89 + 129) / 6 = 889.99 / 6
    assert cohorts["2026-05"]["nps"]["score"] == 100.0
    assert cohorts["2026-10"]["checkins_sent"] == 3


def test_nps_by_tenure(shop_store):
    store, _ = shop_store
    tenure = {t["tenure"]: t for t in report(store)["nps_by_tenure"]}
    assert tenure["3-5 months"] == {"tenure": "3-5 months", "n": 1, "promoters": 1, "passives": 0,
                                    "detractors": 0, "score": 100.0}   # Ana: May 10 -> Nov 6 = 5 whole months
    assert tenure["0-2 months"]["score"] == -100.0                    # Ben: Oct 20 -> Nov 7
    assert tenure["12+ months"]["n"] == 0 and tenure["12+ months"]["score"] is None


def test_themes_problem_counts_trend_and_own_words_newest_first(shop_store):
    store, _ = shop_store
    themes = {t["sku"]: t for t in report(store)["themes"]}
    assert themes["TR2-44"]["problems"] == [{"type": "damaged", "count": 1, "previous": 0, "trend": 1}]
    assert themes["TR2-44"]["requests"] == [{"type": "refund", "count": 1}]      # two needs in one message
    assert themes["NCH-700"]["problems"][0]["type"] == "defective" and themes["NCH-700"]["requests"] == []
    assert {s for s, t in themes.items() if t["worst_rated"]} == {"LDC-QUEEN", "NCH-700", "TR2-44"}
    assert [q["text"] for q in themes["TR2-44"]["quotes"]] == ["the sole came off"]   # not Fay's, not Ana's blank
    assert themes["LDC-QUEEN"]["quotes"][0]["score"] == 2
    worst = Reporting(store.db).worst_skus(WEEK)
    assert [(w["sku"], w["csat"]["mean"], w["top_problem"]) for w in worst] == [
        ("LDC-QUEEN", 2.0, None), ("NCH-700", 2.0, "defective"), ("TR2-44", 2.33, "damaged")]


def test_at_risk_lists_low_scores_late_cases_and_the_quiet_but_never_the_forgotten(shop_store):
    store, _ = shop_store
    risks = report(store)["at_risk"]
    assert sorted((r["customer"], r["kind"], r["order_id"]) for r in risks) == [
        ("C-DAN", "low_score", "D1"),               # CSAT 2, no case
        ("C-LENA", "case_past_sla", "L1"),           # open, nobody replied in 30 minutes
        ("C-LENA", "low_score", "L1"),               # CSAT 1, the case is not resolved
        ("C-YUKI", "stopped_answering", "Y1"),       # answered Y0, then silence
    ]                                                # Ben: detractor, but his case was resolved
    assert all(r["reason"] for r in risks)


def test_a_forgotten_customer_counts_but_shows_nothing_personal(shop_store):
    store, people = shop_store
    text = json.dumps(report(store, by="sku", compare=True))
    assert "FAY" not in text.upper() and "C-FAY" not in text and "forgotten" not in text


def test_an_empty_store_gives_counts_of_zero_and_nulls():
    store = Store.memory()
    data = report(store, by="sku")
    assert data["overall"] == empty_figures()
    assert data["overall"]["csat"]["mean"] is None and data["overall"]["response_rate"] is None
    assert data["groups"] == [] and data["themes"] == [] and data["at_risk"] == []


def _one_customer() -> tuple[Store, Shop, int]:
    store = Store.memory()
    shop = Shop(store)
    customer = shop.customer("C-1", "Sam")
    shop.order("O1", customer, "SKU-1", "misc", 10.0, at(1))
    return store, shop, customer


def test_no_responses():
    store, shop, customer = _one_customer()
    shop.touch("checkin", "O1", "SKU-1", customer, at(3), answered=False)
    overall = report(store)["overall"]
    assert (overall["checkins_sent"], overall["responses"], overall["response_rate"]) == (1, 0, 0.0)
    assert overall["csat"]["n"] == 0 and overall["csat"]["mean"] is None and overall["csat"]["satisfied_pct"] is None
    assert overall["nps"]["score"] is None and overall["escalation_rate"] is None


def test_all_passives_score_zero_not_null():
    store, shop, customer = _one_customer()
    for day, score in ((3, 7), (4, 8)):
        conversation = shop.touch("nps", "O1", "SKU-1", customer, at(day), answered=True)
        shop.score(conversation, "nps", score, at(day, 11))
    assert report(store)["overall"]["nps"] == {"n": 2, "promoters": 0, "passives": 2, "detractors": 0, "score": 0.0}


def test_one_response():
    store, shop, customer = _one_customer()
    conversation = shop.touch("checkin", "O1", "SKU-1", customer, at(3), answered=True)
    shop.score(conversation, "csat", 4, at(3, 11))
    overall = report(store)["overall"]
    assert overall["response_rate"] == 1.0 and overall["escalation_rate"] == 0.0
    assert overall["csat"] == {"n": 1, "mean": 4.0, "satisfied_pct": 1.0,
                               "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}


def test_outside_the_period_counts_nothing():
    store, shop, customer = _one_customer()
    conversation = shop.touch("checkin", "O1", "SKU-1", customer, at(3), answered=True)
    shop.score(conversation, "csat", 4, at(3, 11))
    assert report(store, Period(date(2026, 11, 4), date(2026, 11, 10)))["overall"]["checkins_sent"] == 0
    assert report(store, Period(None, date(2026, 11, 3)))["overall"]["checkins_sent"] == 1
    assert report(store, Period(date(2026, 11, 3), None))["overall"]["csat"]["n"] == 1


def test_period_rules():
    assert Period(date(2026, 11, 2), date(2026, 11, 8)).previous() == Period(date(2026, 10, 26), date(2026, 11, 1))
    assert Period.week_of(date(2026, 11, 8)) == Period(date(2026, 11, 2), date(2026, 11, 8))
    with pytest.raises(ValueError, match="starts"):
        Period(date(2026, 11, 9), date(2026, 11, 8))
    with pytest.raises(ValueError, match="both ends"):
        Period(date(2026, 11, 2)).previous()
    with pytest.raises(ValueError, match="unknown slice"):
        Reporting(Store.memory().db).groups(WEEK, "colour", NOW)


def test_words_erased_by_retention_are_not_quoted(shop_store):
    store, _ = shop_store
    with store.transaction():
        store.privacy.erase_free_text_before(at(6))        # Ben's and Lena's words; Dan's are newer
    themes = {t["sku"]: t for t in report(store)["themes"]}
    assert themes["TR2-44"]["quotes"] == [] and themes["NCH-700"]["quotes"] == []
    assert [q["text"] for q in themes["LDC-QUEEN"]["quotes"]] == ["scratchy fabric"]
    assert report(store)["overall"]["csat"]["n"] == 5                 # the scores stay


def test_a_store_from_an_older_version_is_migrated_then_read_read_only(tmp_path):
    path = tmp_path / "old.db"
    Store.open(path).close()
    old = Database(path)                       # as a store before `customer forget` existed
    old["customers"].transform(drop={"forgotten_at"})
    old.execute("delete from _sqlite_migrations where name = 'm004_data_rights'")
    old.execute("drop table erasure_log")
    old.execute("drop table suppressed")
    old.close()
    db = open_read_only(path)
    assert "forgotten_at" in {c.name for c in db["customers"].columns}
    assert Reporting(db).report(WEEK, NOW)["overall"] == empty_figures()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("insert into customers (ref) values ('x')")


def test_the_lookups_per_row_use_indexes():
    """Without these the report grows with the square of the store (bench/report_bench.py)."""
    db = Store.memory().db
    plans = {sql: " ".join(str(row[-1]) for row in db.execute("explain query plan " + sql).fetchall()) for sql in (
        "select 1 from touchpoints where conversation_id = 1",
        "select id from responses where customer_id = 1 order by at desc",
        "select 1 from escalations where customer_id = 1")}
    assert all("USING INDEX" in plan or "USING COVERING INDEX" in plan for plan in plans.values()), plans
