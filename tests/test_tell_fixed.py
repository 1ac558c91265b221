"""`aftercare tell-fixed` ("you spoke, we listened"): who is told, who is skipped and why, once
each, through the governor (weekly cap, quiet hours), and the command's errors."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.base.clock import parse_iso
from bot.store.rows import CaseRow
from bot.store.store import Store
from bot.ops.fixes import FORGOTTEN, OPTED_OUT, TellFixedError, check_request, parse_since, plan, queue
from tests.support.harness import Harness, make_settings, write_config

FIXED = "Good news: we fixed the sole on the Trail Runner 2. Thanks for telling us!"


async def report(h: Harness, order_id: str, ref: str, address: str, text: str = "the sole came off",
                 sku: str = "TR2-44") -> Optional[CaseRow]:
    """A customer answers their check-in with a problem, and an agent resolves the case."""
    await h.start_checkin(order_id, customer_ref=ref, address=address, sku=sku, name=f"Customer {ref}")
    await h.press("1", address=address)
    await h.say(text, address=address)
    case = h.case(ref)
    await h.agent("resolve", case=case)
    await h.press("7", address=address)
    await h.advance(timedelta(days=3))          # every conversation closes
    assert all(c.status == "closed" for c in h.conversations(ref))
    return case


def fixed_texts(h: Harness, address: str) -> list[str]:
    return [text for text in h.channel.texts(address) if text == FIXED]


@pytest.fixture
async def shop() -> Harness:
    """C-1 and C-4 reported 'defective' on TR2-44; C-2 'late' on TR2-44; C-3 'defective' on
    another SKU. Weekly cap 5 so only the test about the cap meets it."""
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    assert (await report(h, "A-1", "C-1", "1001")).problem_type == "defective"
    assert (await report(h, "A-2", "C-2", "1002", text="it never arrived")).problem_type == "late"
    assert (await report(h, "A-3", "C-3", "1003", sku="BAG-1")).problem_type == "defective"
    assert (await report(h, "A-4", "C-4", "1004")).problem_type == "defective"
    return h


async def test_only_who_reported_that_problem_on_that_sku_is_told(shop):
    h = shop
    chosen = plan(h.store, "TR2-44", "defective")
    assert [c.customer_id for c in chosen.recipients] == [h.customer_id("C-1"), h.customer_id("C-4")]
    assert queue(h.store, chosen, FIXED, h.clock.now()) == 2
    await h.pump()
    assert fixed_texts(h, "1001") == [FIXED] and fixed_texts(h, "1004") == [FIXED]
    assert fixed_texts(h, "1002") == [] and fixed_texts(h, "1003") == []
    notice = h.store.fix_notices.for_customer(h.customer_id("C-1"))[0]
    assert notice.status == "sent" and h.store.outbox.get(notice.outbox_id).status == "sent"


async def test_an_opted_out_customer_is_skipped_with_the_reason(shop):
    h = shop
    await h.say("stop", address="1004")
    chosen = plan(h.store, "TR2-44", "defective")
    assert [(c.customer_id, c.skip) for c in chosen.skipped] == [(h.customer_id("C-4"), OPTED_OUT)]
    queue(h.store, chosen, FIXED, h.clock.now())
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1004") == [] and fixed_texts(h, "1001") == [FIXED]


async def test_a_second_run_queues_nothing(shop):
    h = shop
    assert queue(h.store, plan(h.store, "TR2-44", "defective"), FIXED, h.clock.now()) == 2
    await h.pump()
    again = plan(h.store, "TR2-44", "defective")
    assert again.recipients == [] and {c.skip for c in again.skipped} == {"already told about this fix"}
    assert queue(h.store, again, "Fixed, really!", h.clock.now()) == 0
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1001") == [FIXED]


async def test_a_forgotten_customer_is_skipped_and_a_queued_notice_to_them_dropped(shop):
    from bot.ops.data_rights import forget_customer
    h = shop
    c4 = h.customer_id("C-4")
    queue(h.store, plan(h.store, "TR2-44", "defective"), FIXED, h.clock.now())
    forget_customer(h.store, h.settings, c4, "test", h.clock.now())
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1004") == [] and fixed_texts(h, "1001") == [FIXED]
    assert h.store.fix_notices.for_customer(c4)[0].status == "cancelled"
    h.store.db.execute("delete from fix_notices")        # as if never queued: still never told
    skipped = plan(h.store, "TR2-44", "defective").skipped
    assert [(c.customer_id, c.name, c.skip) for c in skipped] == [(c4, None, FORGOTTEN)]


async def test_since_leaves_out_older_reports(shop):
    h = shop
    opened = parse_iso(h.case("C-4").opened_at)
    since = parse_since((opened + timedelta(days=1)).date().isoformat())
    assert plan(h.store, "TR2-44", "defective", since).candidates == ()
    since = parse_since(opened.date().isoformat())
    assert [c.customer_id for c in plan(h.store, "TR2-44", "defective", since).candidates] == [h.customer_id("C-4")]


async def test_the_weekly_cap_holds_it_until_the_cap_frees_and_then_it_goes_out():
    h = Harness(make_settings(schedule={"weekly_cap": 1}))
    await report(h, "A-1", "C-1", "1001")
    checkin_at = h.store.customers.contacts_since(h.customer_id("C-1"), h.clock.now() - timedelta(days=7))[0]
    queue(h.store, plan(h.store, "TR2-44", "defective"), FIXED, h.clock.now())
    await h.pump()
    assert fixed_texts(h, "1001") == []
    notice = h.store.fix_notices.for_customer(h.customer_id("C-1"))[0]
    assert notice.status == "held" and notice.held_reason == "weekly_cap"
    assert parse_iso(notice.due_at) >= checkin_at + timedelta(days=7)
    await h.advance(timedelta(days=5))
    assert fixed_texts(h, "1001") == [FIXED]
    sent = h.outbox(text=FIXED)[0]
    assert parse_iso(sent["sent_at"]) >= checkin_at + timedelta(days=7)
    local_hour = parse_iso(sent["sent_at"]).hour   # Lisbon is UTC+0 in November: outside 21:00-09:00
    assert 9 <= local_hour < 21


def test_bad_input_is_refused_before_anything_is_queued():
    store = Store.memory()
    with pytest.raises(TellFixedError, match="unknown problem type 'squeaky'"):
        check_request(store, "TR2-44", "squeaky", FIXED)
    with pytest.raises(TellFixedError, match="is not a date"):
        parse_since("last tuesday")


# ---- the command ------------------------------------------------------------------------------

@pytest.fixture
async def shop_file(tmp_path):
    """A store file with C-1 (defective on TR2-44, will be told) and C-2 (same, opted out)."""
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await report(h, "A-1", "C-1", "1001")
    await report(h, "A-2", "C-2", "1002")
    await h.say("stop", address="1002")
    db = tmp_path / "shop.db"
    h.store.db.conn.execute(f"vacuum into '{db}'")
    return write_config(tmp_path, db), db


def aftercare(config, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--config", str(config), "tell-fixed", *args], input=input)


ARGS = ("--sku", "TR2-44", "--problem-type", "defective", "--message", FIXED)


def pending(db) -> int:
    store = Store.open(db)
    try:
        return store.db.execute("select count(*) from fix_notices").fetchone()[0]
    finally:
        store.close()


async def test_dry_run_lists_who_and_who_is_skipped_and_queues_nothing(shop_file):
    config, db = shop_file
    result = aftercare(config, *ARGS, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would tell 1 customer(s) that defective on TR2-44 is fixed:" in result.stdout
    assert "Customer C-1 (telegram" in result.stdout
    assert "Customer C-2: opted out" in result.stdout
    assert pending(db) == 0


async def test_the_real_run_asks_then_queues_and_reports_how_many(shop_file):
    config, db = shop_file
    refused = aftercare(config, *ARGS, input="n\n")
    assert refused.exit_code == 1 and pending(db) == 0
    result = aftercare(config, *ARGS, input="y\n")
    assert result.exit_code == 0, result.output
    assert "queued 1 message(s)" in result.stdout and pending(db) == 1
    again = aftercare(config, *ARGS, "--yes")
    assert again.exit_code == 0 and "nothing to queue" in again.stdout and pending(db) == 1


@pytest.mark.parametrize("args, message", [
    (("--sku", "TR2-44", "--problem-type", "squeaky", "--message", "x"),
     "error: --problem-type: unknown problem type 'squeaky' (known: damaged, defective, missing_part, "
     "wrong_item, not_as_described, size_fit, late, not_received)"),
    (ARGS + ("--since", "2026-02-30"), "error: --since: '2026-02-30' is not a date (use YYYY-MM-DD)"),
    (("--sku", "NOPE-1", "--problem-type", "defective", "--message", "x"),
     "error: --sku: no order in the store contains SKU 'NOPE-1'"),
    (("--sku", "TR2-44", "--problem-type", "defective", "--message", "  "),
     "error: --message: empty; write the text the customers should get"),
])
async def test_bad_input_is_one_line_and_exit_code_2(shop_file, args, message):
    config, db = shop_file
    result = aftercare(config, *args, "--yes")
    assert result.exit_code == 2
    assert result.stderr == message + "\n" and result.stdout == ""
    assert pending(db) == 0
