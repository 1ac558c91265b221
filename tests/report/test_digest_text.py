"""The weekly digest's text on the hand-computed shop of tests/report/test_insights.py: % SLA met,
the "it has been fixed" messages sent, the three products with the most problems, and the link
to the published page."""
from __future__ import annotations

from datetime import date

from bot.ops.digest import compose
from bot.store.reporting import Period
from tests.report.test_insights import NOW, WEEK, shop  # noqa: F401  (the fixture)
from tests.store.shop_fixture import at


def test_the_digest_says_what_the_owner_acts_on(shop):  # noqa: F811
    store, _ = shop
    text = compose(store, WEEK, NOW, "https://shop.test/report.html")
    # four cases (the request for a person too), none replied to within its 30 minutes: 0% met
    assert "SLA met: 0% of 4 cases (last week no cases)" in text
    assert "You spoke, we listened: 1 sent (last week 0 sent)" in text
    assert "*Most problems*\n" in text
    assert ("• Noise Cancelling Headphones 700 (NCH-700): 2 cases, 66.7 per 100 orders (defective 2)\n"
            "• Trail Runner 2 (TR2-44): 1 case, 33.3 per 100 orders (damaged 1)") in text
    assert text.endswith("The whole report: https://shop.test/report.html")


def test_without_a_published_page_the_digest_gives_the_command(shop):  # noqa: F811
    store, _ = shop
    text = compose(store, WEEK, NOW)
    assert text.endswith("`aftercare report --since 2026-11-02 --until 2026-11-08 --compare`")


def test_a_week_without_cases_says_so(shop):  # noqa: F811
    store, _ = shop
    text = compose(store, Period(date(2026, 10, 26), date(2026, 11, 1)), at(30))
    assert "SLA met: no cases (last week no cases)" in text and "*Most problems*" not in text
