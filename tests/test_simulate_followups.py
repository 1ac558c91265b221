"""Milestones and the referral ask through `aftercare simulate`: the scenarios in
tests/scenarios/followups/ on the console channel with the table-driven NLU, each with its
asserted outcome, and the interactions (an open case, a resolved case, the weekly cap)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.base.codes import personal_code
from bot.conversation.context import build_context
from bot.engine.machine import Answer, Begin, Engine
from bot.sandbox.simulate import SIM_CUSTOMER_REF, simulate_file
from bot.store.reporting import Period
from bot.store.store import Store
from tests.support.harness import CONFIG, ROOT, make_settings, shipped_flows
from tests.support.table_parser import TableParser

FOLLOWUPS = ROOT / "tests" / "scenarios" / "followups"
BASE = {"csat": None, "nps": None, "ces": None, "escalated": False, "escalation_reason": None,
        "escalation_status": None, "review_requested": False, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 0,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0,
        "tips": [], "tip_helpful": []}
KEY = "followups-test-secret-0123456789abcdef"       # referrals.secret: the codes below are known
YEAR1 = f"YEAR1-{personal_code(KEY.encode(), 'gift:anniversary', SIM_CUSTOMER_REF)}"
LATER = datetime(2026, 12, 30, 10, tzinfo=timezone.utc)
LINK = f"https://shop.example/r/{personal_code(KEY.encode(), 'referral', SIM_CUSTOMER_REF)}"
EXPECTED = {
    "anniversary": {"csat": 4, "review_requested": True, "milestones": ["anniversary"], "gift_codes": [YEAR1]},
    "anniversary_open_case": {"csat": 2, "escalated": True, "escalation_reason": "product_problem",
                              "escalation_status": "open", "state": "active"},
    "anniversary_after_low_score": {"csat": 2, "ces": 6, "escalated": True, "escalation_reason": "product_problem",
                                    "escalation_status": "resolved", "review_requested": True},
    "tenth_order": {"csat": 5, "review_requested": True, "milestones": ["tenth_order"], "gift_codes": ["TENTH15"]},
    "referral_nps_promoter": {"csat": 4, "nps": 10, "review_requested": True, "referral_asked": True,
                              "tips": ["tip_week1:electronics"]},          # a week after the check-in
    "referral_after_resolved_case": {"nps": 10, "ces": 7, "escalated": True, "escalation_reason": "product_problem",
                                     "escalation_status": "resolved", "review_requested": True,
                                     "referral_asked": True},
    "referral_link_and_referred_order": {"csat": 5, "nps": 10, "review_requested": True, "referral_asked": True,
                                         "referred_orders": 1, "state": "waiting",   # the month-1 tip, unanswered
                                         "tips": ["tip_week1:electronics", "tip_month1:electronics"]},
    "testimonial": {"csat": 4, "nps": 10, "review_requested": True, "referral_asked": True,
                    "testimonial": "Quiet on the train, and the battery lasts all week.",
                    "tips": ["tip_week1:electronics"]},
}
# Scenarios played with a shop setting of their own.
SETTINGS = {"testimonial": {"referrals": {"url": None}}}


async def play(name: str, store: Store | None = None, **overrides) -> dict:
    overrides["referrals"] = {"secret": KEY, **overrides.get("referrals", {})}
    result = await simulate_file(FOLLOWUPS / f"{name}.yml", make_settings(**overrides), TableParser(), store=store)
    json.dumps(result)
    return result


def bot_lines(result: dict) -> list[tuple[str, str]]:
    return [(e["at"][:16], e["text"]) for e in result["transcript"] if e["from"] == "bot"]


def test_every_followup_scenario_has_an_expected_outcome():
    assert {p.stem for p in FOLLOWUPS.glob("*.yml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_followup_scenario_outcome(name):
    result = await play(name, **SETTINGS.get(name, {}))
    assert result["outcome"] == {**BASE, **EXPECTED[name]}


async def test_anniversary_thanks_with_the_customers_own_code_after_the_weekly_cap_and_asks_nothing():
    lines = bot_lines(await play("anniversary"))
    at, text = lines[-1]
    # due two days after the check-in; the check-in used this week's slot: a week after it
    assert at == "2026-11-09T10:00"
    assert text == ("Hi Ana! A year ago you placed your first order with us. Thank you for being with us all this "
                    f"time! As a small thank-you, here is a code for your next order: {YEAR1}")
    assert sum("A year ago" in line for _, line in lines) == 1


async def test_anniversary_without_a_gift_code_is_a_plain_thank_you():
    result = await play("anniversary", milestones={"gift_codes": {"anniversary": ""}})
    assert result["outcome"]["gift_codes"] == [] and result["outcome"]["milestones"] == ["anniversary"]
    assert bot_lines(result)[-1][1].endswith("Thank you for being with us all this time!")


async def test_no_anniversary_while_a_case_is_open_and_none_later():
    store = Store.memory()
    result = await play("anniversary_open_case", store=store)
    assert all("A year ago" not in text for _, text in bot_lines(result))
    statuses = {t.kind: t.status for t in store.orders.touchpoints("H-1001")}
    assert statuses["anniversary"] == "suppressed:open_case"


async def test_no_anniversary_after_a_recent_low_score_even_with_the_case_resolved():
    store = Store.memory()
    result = await play("anniversary_after_low_score", store=store)
    assert all("A year ago" not in text for _, text in bot_lines(result))
    statuses = {t.kind: t.status for t in store.orders.touchpoints("H-1001")}
    assert statuses["anniversary"] == "suppressed:recent_trouble"


async def test_an_anniversary_that_cannot_go_out_in_time_expires_instead_of_coming_late():
    store = Store.memory()
    # the weekly cap lets it go only after the 14 days it may wait: dropped, never sent late
    result = await play("anniversary", store=store, schedule={"touchpoints": {"anniversary": {"expires": "1d"}}})
    assert result["outcome"]["milestones"] == []
    assert {t.kind: t.status for t in store.orders.touchpoints("H-1001")}["anniversary"] == "expired"


async def test_tenth_order_names_the_count_and_gives_the_configured_code():
    lines = bot_lines(await play("tenth_order"))
    assert lines[-1][1].startswith("Hi Ana! That was order number 10 with us.")
    assert lines[-1][1].endswith("here is a code for your next order: TENTH15")


async def test_promoter_gets_the_personal_link_as_the_one_ask_instead_of_a_review():
    lines = bot_lines(await play("referral_nps_promoter"))
    texts = [text for _, text in lines]
    ask = texts.index("Thank you, that means a lot! If a friend could use Noise-Cancelling Headphones too, "
                      f"here is your personal link to share: {LINK}")
    assert texts[ask:] == [texts[ask]]               # one ask: no testimonial invitation, no review after it
    assert not any("a review helps others" in text for text in texts[ask:])


async def test_a_promoter_is_asked_once_ever():
    store = Store.memory()
    await play("referral_nps_promoter", store=store)
    customer = store.db.execute("select id from customers where ref = ?", [SIM_CUSTOMER_REF]).fetchone()[0]
    assert store.referrals.of_customer(customer).code == personal_code(KEY.encode(), "referral", SIM_CUSTOMER_REF)
    # the same promoter scores 10 in a later NPS conversation: a review request, no second ask
    ctx = build_context(store, make_settings(), customer, "A-3020", "NCH-700", shipped_flows().vocabulary)
    assert ctx.referral_asked_before
    engine = Engine(shipped_flows())
    asked = engine.step(None, Begin("nps"), ctx, LATER)
    answered = engine.step(asked.state, Answer(text="10", button="10"), ctx, LATER)
    assert [m.text for m in answered.messages] == [
        "That means a lot, thank you! If you have a minute, a review helps others: https://shop.example/reviews/NCH-700"]


async def test_no_referral_ask_without_a_link_or_testimonials_configured():
    result = await play("referral_nps_promoter", referrals={"url": None, "testimonials": False})
    assert result["outcome"]["referral_asked"] is False
    assert any("a review helps others" in text for _, text in bot_lines(result))


async def test_testimonial_and_referral_rate_are_in_the_report():
    store = Store.memory()
    await play("referral_link_and_referred_order", store=store)
    report = store.reporting.report(Period(), LATER)
    assert report["overall"]["referrals"] == {"asked": 1, "links": 1, "referred_orders": 1, "converted": 1,
                                              "rate": 1.0, "testimonials": 0}
    store = Store.memory()
    await play("testimonial", store=store, referrals={"url": None})
    report = store.reporting.report(Period(), LATER)
    assert report["overall"]["referrals"]["testimonials"] == 1
    assert report["testimonials"] == [{"at": report["testimonials"][0]["at"], "name": "Ana", "sku": "NCH-700",
                                       "text": "Quiet on the train, and the battery lasts all week."}]
    assert report["testimonials"][0]["at"].startswith(date(2026, 11, 29).isoformat())


async def test_aftercare_report_shows_testimonials_and_the_referral_rate_as_text_json_and_html(tmp_path):
    links, words = tmp_path / "links.db", tmp_path / "words.db"
    for db, name, overrides in ((links, "referral_link_and_referred_order", {}),
                                (words, "testimonial", {"referrals": {"url": None}})):
        store = Store.open(db)
        await play(name, store=store, **overrides)
        store.close()

    def report(db, *args: str):
        result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args], env={"AFTERCARE_DB": str(db)},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "“Quiet on the train, and the battery lasts all week.” — Ana" in " ".join(report(words).split())
    text = report(links)
    assert "referral rate (referred orders)" in text and "100% (1)" in text
    data = json.loads(report(links, "--json"))
    assert data["overall"]["referrals"]["referred_orders"] == 1 and data["overall"]["referrals"]["rate"] == 1.0
    assert json.loads(report(words, "--json"))["testimonials"][0]["text"] == \
        "Quiet on the train, and the battery lasts all week."
    page = tmp_path / "report.html"
    report(words, "--html", str(page))
    html = page.read_text(encoding="utf-8")
    assert 'id="testimonials"' in html and "Quiet on the train, and the battery lasts all week." in html
    report(links, "--html", str(page))
    assert "referral rate" in page.read_text(encoding="utf-8")
