"""The weekly digest: when it is due, that it is queued once per week through the outbox, that
the sandbox posts it to the loopback Slack support channel, and that its figures are the ones
`aftercare report --compare` prints for the same week."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from bot.cli import main
from bot.ops.digest import WeeklyDigest, compose, last_slot, week_before
from bot.store.reporting import Period
from tests.support.harness import Harness, make_settings

UTC = timezone.utc
LISBON = ZoneInfo("Europe/Lisbon")


def test_the_slot_is_the_configured_day_and_hour_in_the_shops_zone():
    settings = make_settings()                                       # Monday 09:00, Europe/Lisbon
    assert last_slot(datetime(2026, 11, 2, 8, 59, tzinfo=UTC), settings) == datetime(2026, 10, 26, 9, tzinfo=LISBON)
    assert last_slot(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), settings) == datetime(2026, 11, 2, 9, tzinfo=LISBON)
    assert last_slot(datetime(2026, 11, 8, 23, 0, tzinfo=UTC), settings) == datetime(2026, 11, 2, 9, tzinfo=LISBON)
    tokyo = make_settings(schedule={"timezone": "Asia/Tokyo"}, digest={"day": "fri", "hour": 17})
    # Friday 17:00 in Tokyo is Friday 08:00 UTC
    assert last_slot(datetime(2026, 11, 6, 8, 0, tzinfo=UTC), tokyo) == datetime(2026, 11, 6, 17, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert week_before(datetime(2026, 11, 2).date()) == Period(datetime(2026, 10, 26).date(), datetime(2026, 11, 1).date())


async def a_shop_with_one_answered_checkin(start: datetime) -> Harness:
    """A check-in answered with CSAT 5 on Wednesday 2026-10-28."""
    h = Harness(start=datetime(2026, 10, 28, 10, 0, tzinfo=UTC))
    h.add_order()
    await h.start_checkin()
    await h.press("5")
    await h.pump()
    h.desk.posts.clear()
    h.clock.set(start)
    return h


async def test_queued_once_per_week_through_the_outbox_and_posted_to_the_desk():
    h = await a_shop_with_one_answered_checkin(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    digest = WeeklyDigest(h.store, h.settings)
    assert digest.tick(h.clock.now()) is None                        # last week's slot is over a day ago
    h.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    first = digest.tick(h.clock.now())
    assert first is not None
    assert digest.tick(h.clock.now() + timedelta(hours=3)) is None
    assert WeeklyDigest(h.store, h.settings).tick(h.clock.now() + timedelta(hours=5)) is None   # a restart
    await h.pump()
    [post] = h.desk_texts()
    assert post.startswith("*Weekly digest* 2026-10-26 to 2026-11-01 (against 2026-10-19 to 2026-10-25)")
    assert "CSAT: 5.00 (n 1) (last week no answers)" in post
    assert "Response rate: 100% of 1 check-ins (last week no check-ins)" in post
    assert "1. TR2-44: CSAT 5.00 (n 1), top problem: none" in post
    assert post.endswith("`aftercare report --since 2026-10-26 --until 2026-11-01 --compare`")
    assert h.store.outbox.get(first).status == "sent"
    # the week after still has last week to compare with; the one after that has nothing
    assert WeeklyDigest(h.store, h.settings).tick(datetime(2026, 11, 9, 9, 0, tzinfo=UTC)) is not None
    assert WeeklyDigest(h.store, h.settings).tick(datetime(2026, 11, 16, 9, 0, tzinfo=UTC)) is None
    off = make_settings(digest={"enabled": False})
    assert WeeklyDigest(h.store, off).tick(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) is None


async def test_a_bot_down_at_the_hour_catches_up_within_a_day_not_later():
    late = await a_shop_with_one_answered_checkin(datetime(2026, 11, 3, 8, 0, tzinfo=UTC))
    assert WeeklyDigest(late.store, late.settings).tick(late.clock.now()) is not None
    later = await a_shop_with_one_answered_checkin(datetime(2026, 11, 3, 10, 0, tzinfo=UTC))
    assert WeeklyDigest(later.store, later.settings).tick(later.clock.now()) is None


def test_an_empty_store_gets_no_digest_of_zeros():
    h = Harness(start=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    assert WeeklyDigest(h.store, h.settings).tick(h.clock.now()) is None
    assert h.store.outbox.counts() == {}


def test_the_sandbox_posts_one_digest_a_week_to_the_support_channel(sandbox_db):
    _, demo = sandbox_db
    slack, channel = demo.world.server("slack"), demo.world.support_channel_id
    posts = [m for m in slack.top_level(channel) if m.text.startswith("*Weekly digest*")]
    weeks = [re.match(r"\*Weekly digest\* (\S+) to (\S+)", m.text).groups() for m in posts]
    assert len(weeks) >= 5 and len(set(weeks)) == len(weeks)
    for since, until in weeks:
        start = datetime.fromisoformat(since)
        assert start.weekday() == 0 and datetime.fromisoformat(until) == start + timedelta(days=6)
    assert any("Worst SKUs by CSAT*\n1. " in m.text or "*Worst SKUs by CSAT*\n1." in m.text for m in posts)
    assert all(m.thread_ts is None and not m.pings for m in posts)


def figures(text: str, label: str) -> tuple[str, str]:
    match = re.search(rf"^{label}: (.*) \(last week (.*)\)$", text, re.M)
    assert match, (label, text)
    return match.group(1), match.group(2)


def test_the_digest_shows_the_figures_of_the_report_command(sandbox_store, config_for):
    store = sandbox_store
    config = config_for(store.db.execute("pragma database_list").fetchone()[2])
    now = max(datetime.now(UTC), store.reporting.latest_activity())
    # the busiest week of the run and the one before it
    period = Period(datetime(2026, 11, 16).date(), datetime(2026, 11, 22).date())
    text = compose(store, period, now)
    result = CliRunner().invoke(main, ["--config", str(config), "report", "--since", "2026-11-16", "--until",
                                       "2026-11-22", "--compare", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    this, last = report["overall"], report["previous"]["overall"]
    assert this["checkins_sent"] > 0 and this["csat"]["n"] > 0 and this["cases"]["opened"] > 0

    def csat(f):
        return "no answers" if f["csat"]["mean"] is None else f"{f['csat']['mean']:.2f} (n {f['csat']['n']})"

    def nps(f):
        return "no answers" if f["nps"]["score"] is None else f"{f['nps']['score']:+.0f} (n {f['nps']['n']})"

    def rate(f):
        return "no check-ins" if f["response_rate"] is None else \
            f"{round(100 * f['response_rate'])}% of {f['checkins_sent']} check-ins"

    assert figures(text, "CSAT") == (csat(this), csat(last))
    assert figures(text, "NPS") == (nps(this), nps(last))
    assert figures(text, "Response rate") == (rate(this), rate(last))
    assert figures(text, "Cases") == tuple(f"{f['cases']['opened']} opened, {f['cases']['resolved']} resolved"
                                           for f in (this, last))
    assert figures(text, "SLA breaches") == (str(this["cases"]["sla_breaches"]), str(last["cases"]["sla_breaches"]))
    worst = [t for t in report["themes"] if t["worst_rated"]]
    listed = re.findall(r"^\d\. (\S+): CSAT ([\d.]+) \(n (\d+)\), top problem: (.*)$", text, re.M)
    assert {sku for sku, *_ in listed} == {t["sku"] for t in worst} and 1 <= len(listed) <= 3
    for sku, mean, n, problem in listed:
        theme = next(t for t in worst if t["sku"] == sku)
        assert (float(mean), int(n)) == (theme["csat"]["mean"], theme["csat"]["n"])
        top = theme["problems"][0]["type"].replace("_", " ") if theme["problems"] else "none"
        assert problem == top
    at_risk = len({r["customer"] for r in report["at_risk"]})
    assert f"*At risk*: {at_risk} customer" in text
