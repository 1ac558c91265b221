"""The zero-credential `aftercare run`, headless: the sample orders through the loopback
Telegram and Slack servers, the real adapters, store, scheduler and dispatcher, simulated
customers and agent, on a simulated clock at full speed (the table stand-in for the NLU)."""
import asyncio
import json
import os
import re
from statistics import mean
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from click.testing import CliRunner

from bot.conversation.cases import SUPPORT
from bot.cli import main
from bot.channels.slack_blocks import escape_customer_text
from bot.base.clock import parse_iso
from bot.config.loading import load_settings
from bot.sandbox.platforms.slack_driver import SlackSide
from bot.sandbox.platforms.telegram_driver import TelegramSide
from bot.sandbox.demo import FIXED_TEXTS, SandboxDemo, run_sandbox
from bot.base.clock import resolve_zone
from bot.schedule.governor import quiet_until
from bot.store.reporting import Period, Reporting
from bot.store.store import Store
from tests.support.table_parser import TableParser

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Run:
    """A finished sandbox run: its store, loopback servers, cast and figures."""

    def __init__(self, demo: SandboxDemo, summary, health: dict) -> None:
        self.demo, self.summary, self.health = demo, summary, health
        self.store = demo.store
        self.telegram = demo.world.server("telegram")
        self.slack = demo.world.server("slack")

    def customer(self, order_id: str):
        return next(c for c in self.demo.customers if order_id in c.order_ids)

    def identity(self, order_id: str):
        order = self.store.orders.get(order_id)
        return next(i for i in self.store.customers.identities_of(order.customer_id) if i.channel == order.channel)

    def delivered(self, order_id: str) -> list[tuple[str, str]]:
        """(platform message id, text as first delivered) of every bot message on the customer's screen."""
        side = self.customer(order_id).side
        if isinstance(side, TelegramSide):
            return [(str(m.message_id), m.history[0] if m.history else m.text)
                    for m in self.telegram.messages_to(side.chat_id)]
        return [(m.ts, m.text) for m in self.slack.dms_to(side.address)]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    settings = load_settings(os.path.join(ROOT, "config.yml"), environ={})
    store = Store.open(tmp_path_factory.mktemp("sandbox") / "sandbox.db")
    demo = SandboxDemo(settings, store, TableParser(), speed=0)
    health: dict = {}

    async def probe() -> None:
        while not demo.health_url:
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as session:
            async with session.get(demo.health_url) as response:
                health.update(status=response.status, body=await response.json())

    async def both():
        summary, _ = await asyncio.wait_for(asyncio.gather(demo.run(), probe()), timeout=60)
        return summary

    summary = asyncio.run(both())
    yield Run(demo, summary, health)
    store.close()


def test_runs_the_whole_sample_and_serves_healthz(run):
    # how fast it runs is a benchmark's business (the fixture's 60 s is only a hang guard)
    assert run.summary.orders == 23          # 20 from the CSV, 2 pushed by the shop's webhook, 1 from history
    assert run.health["status"] == 200 and run.health["body"]["ok"] is True
    assert run.health["body"]["channels"] == ["slack", "telegram"]
    assert run.summary.checkins_sent >= 13 and run.summary.checkins_answered >= 12


def test_cases_are_opened_claimed_answered_and_resolved(run):
    cases = run.summary.cases
    assert {(c.order_id, c.reason) for c in cases} == {
        # A-1003 writes Japanese, which has no NLU: escalated on its score of 1, never on a guess
        ("A-1003", "low_score"), ("A-1015", "product_problem"),
        # A-1006 never arrives: the delay notice comes first and she asks for a person
        ("A-1006", "human"), ("A-1009", "human"),
        # A-1013 writes the day after delivery that it arrived cracked: a case before any check-in
        ("A-1013", "product_problem")}
    for case in cases:
        assert case.status == "resolved"
        assert case.opened_at < case.claimed_at <= case.first_reply_at < case.resolved_at
    late = [c for c in cases if c.minutes(c.claimed_at) > 30]
    assert late and all(c.sla_reminded for c in late)          # the agent who came late was reminded
    posts = run.slack.messages_in(run.demo.world.support_channel_id)
    words = [b["text"]["text"] for m in posts for b in m.blocks if b.get("block_id") == "case_words"]
    assert any("it arrived cracked" in w for w in words)            # the card shows the customer's words
    assert any(m.text.startswith("Customer: ") for m in posts)       # their answers reach the thread


def test_the_agents_use_each_desk_action_and_the_summary_counts_them(run):
    desk = run.summary.desk
    for kind in ("claim", "history", "note", "assign", "snooze", "saved_reply", "goodwill", "resolve"):
        assert desk.get(kind, 0) >= 1, kind
    posts = [m.text for m in run.slack.messages_in(run.demo.world.support_channel_id)]
    assert any("Internal note" in t for t in posts) and any("now owns this case" in t for t in posts)
    notes = [a.detail for a in run.store.desk.actions() if a.kind == "note"]
    sent = {t for order in ("A-1003", "A-1015", "A-1006", "A-1009", "A-1013") for _, t in run.delivered(order)}
    assert notes and not any(note in t for note in notes for t in sent)      # no note reached a customer
    assert any("SORRY-" in t for t in sent)                                 # the goodwill code went out


def test_scores_are_stored(run):
    by_order: dict = {}
    for response in run.store.conversations.responses():
        by_order.setdefault(response.order_id, []).append((response.metric, response.score))
    assert ("csat", 5) in by_order["A-1001"]                     # delighted
    assert ("csat", 3) in by_order["A-1002"]                     # so-so, with a comment
    assert ("text", None) in by_order["A-1002"]
    assert ("csat", 1) in by_order["A-1003"]                     # broken product
    assert ("ces", 6) in by_order["A-1003"]                      # after the case was resolved
    assert ("csat", 4) in by_order["A-1012"]                     # not used yet, asked again a week later
    assert any(metric == "nps" for metric, _ in by_order["A-1007"])
    assert run.summary.review_requests >= 5       # the check-in's one ask: no upsell after a review request


def test_stop_persona_gets_nothing_after_the_confirmation(run):
    confirmation = "承知しました。今後メッセージはお送りしません。"     # A-1010 is in Japanese
    screen = [text for _, text in run.delivered("A-1010")]
    assert screen[-1].startswith(confirmation)
    assert sum(text.startswith(confirmation) for text in screen) == 1
    identity = run.identity("A-1010")
    assert identity.opted_out
    later = run.store.db.execute("select count(*) from outbox where identity_id = ? and status = 'sent' and "
                                 "created_at > (select min(created_at) from outbox where identity_id = ? and "
                                 "text like ?)", [identity.id, identity.id, confirmation + "%"]).fetchone()[0]
    assert later == 0


@pytest.mark.parametrize("order_id", ["A-1004", "A-1020"])         # Telegram: blocked; Slack: account gone
def test_blocked_persona_is_unreachable(run, order_id):
    identity = run.identity(order_id)
    assert not identity.reachable
    rows = list(run.store.db["outbox"].rows_where("identity_id = ?", [identity.id], order_by="id"))
    assert [r["status"] for r in rows if r["status"] != "sent"][0] == "unreachable"
    assert [text for _, text in run.delivered(order_id)] == [rows[0]["text"]]      # only the thank-you
    assert not any("How is" in text for _, text in run.delivered(order_id))


def test_nothing_proactive_is_sent_in_the_customers_quiet_hours(run):
    settings = run.demo.settings.schedule
    checked = 0
    for contact in run.store.db["contacts"].rows:
        customer = run.store.customers.get(contact["customer_id"])
        zone = resolve_zone(customer.timezone, settings.timezone)
        rows = run.store.db.execute(
            "select o.sent_at from outbox o join identities i on i.id = o.identity_id "
            "where i.customer_id = ? and o.created_at = ? and o.status = 'sent' and o.kind = 'message'",
            [contact["customer_id"], contact["at"]]).fetchall()
        for (sent_at,) in rows:
            sent = parse_iso(sent_at)
            assert quiet_until(sent, zone, settings.quiet_hours) is None, (
                f"{contact['kind']} to {customer['name']} at {sent.astimezone(ZoneInfo(zone))} ({zone})")
            checked += 1
    assert checked >= 15
    assert run.summary.held.get("quiet_hours", 0) >= 3            # and some had to wait for the morning
    assert run.summary.held.get("weekly_cap", 0) >= 1


def test_no_message_lost_or_doubled_at_the_loopback_servers(run):
    db = run.store.db
    assert db.execute("select count(*) from outbox where status in ('pending', 'sending', 'failed')").fetchone()[0] == 0
    for customer in run.demo.customers:
        side = customer.side
        sent = list(db.query("select platform_message_id, text from outbox where channel = ? and address = ? "
                             "and kind = 'message' and status = 'sent' order by sent_at, id", [side.channel, side.address]))
        screen = run.delivered(customer.order_ids[0])
        assert len({pid for pid, _ in screen}) == len(screen)
        assert [r["platform_message_id"] for r in sent] == [pid for pid, _ in screen], customer.name
        expected = [r["text"] if isinstance(side, TelegramSide) else escape_customer_text(r["text"]) for r in sent]
        shown = dict(screen)
        for row, text in zip(sent, expected):
            if isinstance(side, SlackSide) and run.slack.message(run.slack.dm_channel(side.address),
                                                                row["platform_message_id"]).edited:
                continue                                           # an answered question shows its answer now
            assert shown[row["platform_message_id"]] == text
    support = list(db.query("select platform_message_id from outbox where channel = ? and status = 'sent' "
                            "and kind in ('case_card', 'thread', 'notice') order by sent_at, id", [SUPPORT]))
    posted = [m.ts for m in run.slack.messages_in(run.demo.world.support_channel_id)
              if m.user == run.slack.bot_user_id or m.bot_id]
    assert sorted(r["platform_message_id"] for r in support) == sorted(posted)


def test_deep_link_customers_are_linked_before_their_thank_you(run):
    for order_id in ("A-1001", "A-1016"):                           # no chat id in the file
        identity = run.identity(order_id)
        assert identity.address and identity.reachable
        screen = [text for _, text in run.delivered(order_id)]
        # both orders are in Portuguese: "Thanks ...! You're all set", "Thank you for your order"
        assert screen[0].startswith("Obrigado, ") and screen[1].startswith("Obrigado pela sua encomenda")


def test_make_run_entry_exits_0_and_prints_the_report_command_for_its_kept_store(tmp_path, capsys, caplog,
                                                                                monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    settings = load_settings(os.path.join(ROOT, "config.yml"), environ={})
    sample = open(os.path.join(ROOT, "data", "sample_orders.csv"), encoding="utf-8").read().splitlines()
    orders = tmp_path / "orders.csv"            # a broken product and a STOP: a case and an opt-out
    orders.write_text("\n".join([sample[0]] + [line for line in sample if line.startswith(("A-1003", "A-1010"))]) + "\n",
                      encoding="utf-8")
    kept = tmp_path / "runs" / "last-run.db"
    code = asyncio.run(run_sandbox(settings, lambda s: Store.open(s.resolve(s.store.path)), lambda s: TableParser(),
                                   speed=0, orders_file=str(orders), personas=True, keep_at=kept))
    assert code == 0
    out = capsys.readouterr().out
    # both customers write Japanese (no NLU): the case is opened on the score, never on a guess
    assert "new case 1: low_score" in out and "今後メッセージはお送りしません" in out
    assert "1 opened, 1 claimed, 1 resolved" in out
    ready = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("ready:"))
    database = re.search(r"store (\S+),", ready).group(1)
    assert database == str(kept) and kept.exists() and database != settings.store.path
    command = re.search(r"^  (AFTERCARE_DB=(\S+) \.venv/bin/aftercare report)$", out, re.M)
    assert command and command.group(2) == str(kept)
    # the printed command, run as printed, shows the summary's counts
    report = CliRunner().invoke(main, ["--config", os.path.join(ROOT, "config.yml"), "report", "--json"],
                                env={"AFTERCARE_DB": command.group(2), "COLUMNS": "200"}, catch_exceptions=False)
    overall = json.loads(report.output)["overall"]
    summary_row = re.search(r"check-ins\W+(\d+) sent of \d+ started, (\d+) answered", out)
    assert (overall["checkins_sent"], overall["responses"]) == (int(summary_row.group(1)), int(summary_row.group(2)))
    assert (overall["cases"]["opened"], overall["cases"]["claimed"], overall["cases"]["resolved"]) == (1, 1, 1)
    assert overall["opt_outs"] == int(re.search(r"opt-outs\W+(\d+)", out).group(1)) == 1
    csat = re.search(r"CSAT\W+(\S+) satisfied \(n=(\d+)", out)
    assert overall["csat"]["n"] == int(csat.group(2))


def test_the_report_on_a_sandbox_store_has_the_summary_counts(run):
    """`aftercare report` and the run's summary count the same things the same way."""
    summary = run.summary
    overall = Reporting(run.store.db).overall(Period(), run.demo.clock.now())
    assert overall["checkins_sent"] == summary.checkins_sent
    assert overall["responses"] == summary.checkins_answered
    assert overall["csat"]["n"] == len(summary.csat) and overall["csat"]["mean"] == round(mean(summary.csat), 2)
    assert overall["csat"]["satisfied_pct"] == round(summary.csat_percent / 100, 4)
    assert overall["csat"]["distribution"] == {str(s): summary.csat.count(s) for s in range(1, 6)}
    assert overall["nps"]["n"] == len(summary.nps) and overall["nps"]["score"] == round(summary.nps_score, 2)
    assert overall["ces"]["n"] == len(summary.ces)
    assert overall["ces"]["mean"] == (round(summary.ces_mean, 2) if summary.ces else None)
    cases = overall["cases"]
    assert cases["opened"] == len(summary.cases) >= 1
    assert cases["claimed"] == sum(1 for c in summary.cases if c.claimed_at)
    assert cases["resolved"] == sum(1 for c in summary.cases if c.resolved_at)
    for stage, column in (("claim", "claimed_at"), ("first_reply", "first_reply_at"), ("resolve", "resolved_at")):
        expected = summary.case_minutes(column)
        assert cases[f"median_minutes_to_{stage}"] == (None if expected is None else pytest.approx(expected, abs=0.005))
    assert overall["reviews"]["requested"] == summary.review_requests
    assert overall["upsells"]["offered"] + overall["replenishment"]["offered"] == summary.upsells
    assert overall["opt_outs"] == summary.opt_outs
    assert overall["unreachable"] == summary.unreachable
    referrals = overall["referrals"]
    assert (referrals["asked"], referrals["testimonials"], referrals["referred_orders"]) == (
        summary.referral_asks, summary.testimonials, summary.referred_orders)


def test_a_milestone_and_a_referral_ask_happen_and_the_summary_counts_them(run):
    """Emily's first order was a year before the run (data/sample_history.csv): her anniversary
    thank-you with her own code; Priya (delighted) is asked once for a referral (the conversation's
    one ask: no testimonial invitation beside the link), and the shop's live order W-2001 arrives
    with her code."""
    emily = run.delivered("A-1009")
    assert any(text.startswith("Hi Emily! A year ago you placed your first order with us.") and "YEAR1-" in text
               for _, text in emily)
    priya = [text for _, text in run.delivered("A-1007")]
    asks = [text for text in priya if "here is your personal link to share: https://shop.example/r/" in text]
    assert len(asks) == 1                                        # two orders, two NPS 10s: asked once
    assert not any(text.startswith("Would you tell me in one sentence") for text in priya)
    summary = run.summary
    assert (summary.milestones, summary.gift_codes) == (1, 1)
    assert summary.referral_asks >= 1 and summary.testimonials == 0 and summary.referred_orders == 1
    lines = "\n".join(run.demo.narrator.lines)
    assert "A year ago you placed your first order" in lines and "personal link to share" in lines


def test_without_personas_it_runs_on_the_wall_clock_until_stopped_and_leaves_chat_its_messages(tmp_path):
    """`--no-personas`: a person plays a customer with `aftercare chat` in another process; the
    sandbox neither fails that process's console messages nor posts its cases' cards."""
    settings = load_settings(os.path.join(ROOT, "config.yml"), environ={})
    store = Store.open(tmp_path / "sandbox.db")
    demo = SandboxDemo(settings, store, TableParser(), personas=False)

    async def play() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(demo.run(stop))
        while not demo.health_url:
            await asyncio.sleep(0.01)
        now = demo.clock.now()
        store.outbox.add("console", "console-user", None, None, "from aftercare chat", now)
        store.outbox.add(SUPPORT, "#support", None, None, "case 1", now, kind="case_card", payload={"case_id": 1})
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(running, timeout=20)

    asyncio.run(play())
    statuses = {r["channel"]: r["status"] for r in store.db["outbox"].rows_where("channel in ('console', ?)", [SUPPORT])}
    assert statuses == {"console": "pending", SUPPORT: "pending"}
    assert demo.customers == [] and demo.speed == 1.0
    assert store.db["outbox"].count_where("status = 'sent'") > 0     # the sample's check-ins reached the loopback
    store.close()


def test_the_shop_pushes_orders_through_the_signed_webhook_over_http(run):
    assert run.demo.shop.answers == [("W-2001", "placed", 200), ("W-2001", "shipped", 200),
                                     ("W-2002", "placed", 200), ("W-2002", "shipped", 200),
                                     ("W-2001", "delivered", 200), ("W-2002", "delivered", 200)]
    deliveries = run.store.db.execute("select count(*) from processed_events where channel = 'orders-webhook'")
    assert deliveries.fetchone()[0] == 6
    assert any("shop: POST /webhooks/orders W-2002 delivered → 200" in line for line in run.demo.narrator.lines)


def test_the_late_order_gets_a_delay_notice_and_a_checkin_timed_from_the_late_delivery(run):
    order = run.store.orders.get("W-2002")
    points = {t.kind: t for t in run.store.orders.touchpoints("W-2002")}
    assert points["delay_notice"].status == "started"
    assert points["checkin"].due_at.startswith("2026-11-19T11:00")       # delivered Nov 16 11:00 + 3d
    texts = [text for _, text in run.delivered("W-2002")]
    notice = next(i for i, t in enumerate(texts) if "taking longer than we promised" in t)
    checkin = next(i for i, t in enumerate(texts) if t.startswith("Hi Tom! Thanks again"))
    assert notice < checkin and "SORRY10" in texts[notice]
    assert order.delivered_at > order.expected_at
    # the on-time order never heard of a delay
    assert not any("taking longer" in t for _, t in run.delivered("W-2001"))


def test_tips_go_out_are_answered_and_counted(run):
    """Onboarding tips: some go out (and are narrated), personas answer helpful / not helpful or
    ask a question; the summary counts them as `aftercare report` does; the ones that yield to a
    check-in are narrated with the scheduler's reason."""
    summary = run.summary
    questions = [r for r in run.store.db["outbox"].rows_where("status = 'sent'")
                 if [v for _, v in json.loads(r["buttons"] or "[]")] == ["yes", "no", "question"]]
    assert summary.tips >= 1 and len(questions) == summary.tips          # in the customers' own languages
    assert any("Was this tip helpful?  [Yes, thanks] [Not really] [I have a question]" in line
               for line in run.demo.narrator.lines)
    assert summary.tips_helpful >= 1
    rows = Reporting(run.store.db).tips(Period())
    assert sum(r["sent"] for r in rows) == summary.tips
    assert sum(r["helpful"] or 0 for r in rows) == summary.tips_helpful
    assert sum(r["not_helpful"] or 0 for r in rows) == summary.tips_not_helpful
    assert any(re.search(r"✕ tip_\w+ \S+: beaten by checkin \(priority 90\)", line) for line in run.demo.narrator.lines)
def test_the_check_in_remembers_a_problem_put_right_and_the_shop_tells_who_reported_a_fix(run):
    """A-1013 wrote that it arrived cracked; the case was resolved; her check-in asks about that,
    not the generic question. The shop fixes the first resolved problem and runs tell-fixed:
    whoever reported it hears once. The summary counts both."""
    texts = [text for _, text in run.delivered("A-1013")]
    recall = [t for t in texts if t.startswith("Last time, ") and t.endswith("is everything working as it should?")]
    assert len(recall) == 1 and "Gentle Cleanser 150 ml" in recall[0]
    assert not any(t.startswith("How is Gentle Cleanser 150 ml working") for t in texts)
    assert run.summary.followups == 1
    openings = tuple(text.split("{product}")[0] for text in FIXED_TEXTS.values())     # in their languages
    fixed = [(order_id, text) for customer in run.demo.customers for order_id in customer.order_ids[:1]
             for _, text in run.delivered(order_id) if text.startswith(openings)]
    assert len(fixed) == run.summary.fixed_notices >= 1
    assert len({order_id for order_id, _ in fixed}) == len(fixed)          # once each
