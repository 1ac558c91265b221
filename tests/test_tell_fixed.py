"""`aftercare tell-fixed` ("you spoke, we listened"): who is told, in which language, who is
skipped and why, once each, through the governor (weekly cap, quiet hours), and the command's
sentences, errors and exit codes."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.base.clock import parse_iso
from bot.store.rows import CaseRow
from bot.store.store import Store
from bot.ops.fixes import (FORGOTTEN, OPTED_OUT, TellFixedError, UntranslatedError, check_request, parse_since,
                           plan, queue)
from tests.support.harness import Harness, make_settings, write_config

FIXED = "Good news: we fixed the sole on the Trail Runner 2. Thanks for telling us!"
FIXED_DE = "Gute Nachricht: Die Sohle des Trail Runner 2 ist verbessert. Danke für Ihren Hinweis!"
EN = {"en": FIXED}


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
    assert queue(h.store, chosen, EN, h.clock.now()) == 2
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
    queue(h.store, chosen, EN, h.clock.now())
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1004") == [] and fixed_texts(h, "1001") == [FIXED]


async def test_a_second_run_queues_nothing(shop):
    h = shop
    assert queue(h.store, plan(h.store, "TR2-44", "defective"), EN, h.clock.now()) == 2
    await h.pump()
    again = plan(h.store, "TR2-44", "defective")
    assert again.recipients == [] and {c.skip for c in again.skipped} == {"already told about this fix"}
    assert queue(h.store, again, {"en": "Fixed, really!"}, h.clock.now()) == 0
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1001") == [FIXED]


async def test_a_forgotten_customer_is_skipped_and_a_queued_notice_to_them_dropped(shop):
    from bot.ops.data_rights import forget_customer
    h = shop
    c4 = h.customer_id("C-4")
    queue(h.store, plan(h.store, "TR2-44", "defective"), EN, h.clock.now())
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
    queue(h.store, plan(h.store, "TR2-44", "defective"), EN, h.clock.now())
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
        check_request(store, "TR2-44", "squeaky")
    with pytest.raises(TellFixedError, match="is not a date"):
        parse_since("last tuesday")


# ---- one text per language ----------------------------------------------------------------------

async def test_each_customer_gets_the_text_of_their_language(shop):
    h = shop
    h.store.customers.choose_language(h.customer_id("C-4"), "de")
    chosen = plan(h.store, "TR2-44", "defective", languages=h.settings.languages)
    assert {c.customer_id: c.language for c in chosen.recipients} == {h.customer_id("C-1"): "en",
                                                                      h.customer_id("C-4"): "de"}
    assert queue(h.store, chosen, {"en": FIXED, "de": FIXED_DE}, h.clock.now()) == 2
    await h.pump()
    assert fixed_texts(h, "1001") == [FIXED] and h.channel.texts("1004")[-1] == FIXED_DE
    assert FIXED not in h.channel.texts("1004")


async def test_a_language_with_no_text_is_refused_and_nothing_is_queued(shop):
    h = shop
    h.store.customers.choose_language(h.customer_id("C-4"), "de")
    chosen = plan(h.store, "TR2-44", "defective", languages=h.settings.languages)
    with pytest.raises(UntranslatedError, match=r"no text for de \(1 customer\)"):
        queue(h.store, chosen, EN, h.clock.now())
    assert h.store.fix_notices.for_customer(h.customer_id("C-1")) == []
    # told to leave them out: the English customer is told, the German one never gets English
    assert queue(h.store, chosen, EN, h.clock.now(), skip_untranslated=True) == 1
    await h.advance(timedelta(days=8))
    assert fixed_texts(h, "1001") == [FIXED] and fixed_texts(h, "1004") == []
    assert h.store.fix_notices.for_customer(h.customer_id("C-4")) == []        # a later run can still tell them


async def test_a_regional_customer_gets_their_base_languages_text(shop):
    h = shop
    h.store.customers.choose_language(h.customer_id("C-4"), "pt-BR")
    chosen = plan(h.store, "TR2-44", "defective", languages=h.settings.languages)
    assert [c.language for c in chosen.recipients] == ["en", "pt-BR"]
    assert chosen.untranslated({"en": FIXED, "pt": "Corrigimos."}) == []
    assert [c.language for c in chosen.untranslated({"en": FIXED, "es": "Lo arreglamos."})] == ["pt-BR"]


# ---- the command ------------------------------------------------------------------------------

@pytest.fixture
async def shop_file(tmp_path):
    """A store file with C-1 (defective on TR2-44, will be told), C-2 (same, opted out) and C-3
    (same, chose German)."""
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await report(h, "A-1", "C-1", "1001")
    await report(h, "A-2", "C-2", "1002")
    await report(h, "A-3", "C-3", "1003")
    await h.say("stop", address="1002")
    h.store.customers.choose_language(h.customer_id("C-3"), "de")
    db = tmp_path / "shop.db"
    h.store.db.conn.execute(f"vacuum into '{db}'")
    return write_config(tmp_path, db), db


def aftercare(config, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["--config", str(config), "tell-fixed", *args], input=input)


SKU = ("--sku", "TR2-44", "--problem-type", "defective")
ARGS = SKU + ("--message", f"en={FIXED}", "--message", f"de={FIXED_DE}")


def notices(db) -> list[tuple[str, str]]:
    store = Store.open(db)
    try:
        return [(r[0], r[1]) for r in store.db.execute(
            "select cu.ref, f.text from fix_notices f join customers cu on cu.id = f.customer_id order by cu.ref")]
    finally:
        store.close()


async def test_dry_run_reads_as_a_sentence_and_queues_nothing(shop_file):
    config, db = shop_file
    result = aftercare(config, *ARGS, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("Would tell 2 customers (1 de, 1 en) that the 'defective' problem on "
                        "Trail Runner 2 shoes (TR2-44) is fixed.")
    assert "Customer C-1 (telegram, en, reported" in result.stdout
    assert "Customer C-3 (telegram, de, reported" in result.stdout
    assert "Leaving out 1 customer:" in lines and "Customer C-2: opted out" in result.stdout
    assert notices(db) == []


async def test_dry_run_for_no_one_says_why_in_a_sentence(shop_file):
    config, _ = shop_file
    nobody = aftercare(config, "--sku", "TR2-44", "--problem-type", "damaged", "--message", "en=x", "--dry-run")
    assert nobody.exit_code == 0, nobody.output
    assert nobody.stdout == ("Would tell no one that the 'damaged' problem on Trail Runner 2 shoes (TR2-44) is "
                             "fixed: no customer reported it.\n")
    later = aftercare(config, *ARGS, "--since", "2030-01-01", "--dry-run")
    assert later.stdout.startswith("Would tell no one that the 'defective' problem on Trail Runner 2 shoes "
                                   "(TR2-44) is fixed: no customer reported it since 2030-01-01.")


async def test_one_customer_is_singular(shop_file):
    config, _ = shop_file
    result = aftercare(config, *SKU, "--message", f"en={FIXED}", "--skip-untranslated", "--dry-run")
    assert result.stdout.startswith("Would tell 1 customer (1 en) that ")
    assert "Leaving out 2 customers:" in result.stdout and "Customer C-3: no text in de" in result.stdout


async def test_a_language_with_no_text_is_refused_in_one_line_exit_2(shop_file):
    config, db = shop_file
    for extra in ((), ("--dry-run",)):
        result = aftercare(config, *SKU, "--message", f"en={FIXED}", "--yes", *extra)
        assert result.exit_code == 2, result.output
        assert result.stderr == ("error: no text for de (1 customer): add --message de=TEXT for each, "
                                 "or --skip-untranslated to leave them out\n")
    assert notices(db) == []


async def test_skip_untranslated_tells_the_rest_says_how_many_and_exits_3(shop_file):
    config, db = shop_file
    result = aftercare(config, *SKU, "--message", f"en={FIXED}", "--skip-untranslated", "--yes")
    assert result.exit_code == 3, result.output
    assert "Queued 1 message;" in result.stdout
    assert result.stderr == ("Skipped 1 customer with no text in their language (de): tell them with a later "
                             "run that adds --message LANG=TEXT.\n")
    assert notices(db) == [("C-1", FIXED)]
    later = aftercare(config, *ARGS, "--yes")                  # the German text came: only C-3 is new
    assert later.exit_code == 0, later.output
    assert notices(db) == [("C-1", FIXED), ("C-3", FIXED_DE)]


async def test_the_real_run_asks_then_queues_each_language_and_reports_how_many(shop_file):
    config, db = shop_file
    refused = aftercare(config, *ARGS, input="n\n")
    assert refused.exit_code == 1 and notices(db) == []
    result = aftercare(config, *ARGS, input="y\n")
    assert result.exit_code == 0, result.output
    assert "Queued 2 messages;" in result.stdout
    assert notices(db) == [("C-1", FIXED), ("C-3", FIXED_DE)]
    again = aftercare(config, *ARGS, "--yes")
    assert again.exit_code == 0 and again.stdout.endswith("Nothing to queue.\n")
    assert "all 3 customers who reported it are left out (below)." in again.stdout


async def test_texts_from_a_file_line_by_language(shop_file, tmp_path):
    config, db = shop_file
    texts = tmp_path / "fixed.yml"
    texts.write_text(f"en: \"{FIXED}\"\nde: \"{FIXED_DE}\"\n", encoding="utf-8")
    result = aftercare(config, *SKU, "--messages", str(texts), "--yes")
    assert result.exit_code == 0, result.output
    assert notices(db) == [("C-1", FIXED), ("C-3", FIXED_DE)]
    texts.write_text(f"en: \"{FIXED}\"\nnl: \"Opgelost.\"\n", encoding="utf-8")
    bad = aftercare(config, *SKU, "--messages", str(texts), "--yes")
    assert bad.exit_code == 2
    assert bad.stderr.startswith(f"error: {texts}:2: the file: nl is not a language the shop writes in")


@pytest.mark.parametrize("args, message", [
    (("--sku", "TR2-44", "--problem-type", "squeaky", "--message", "en=x"),
     "error: --problem-type: unknown problem type 'squeaky' (known: damaged, defective, missing_part, "
     "wrong_item, not_as_described, size_fit, late, not_received)"),
    (ARGS + ("--since", "2026-02-30"), "error: --since: '2026-02-30' is not a date (use YYYY-MM-DD)"),
    (("--sku", "NOPE-1", "--problem-type", "defective", "--message", "en=x"),
     "error: --sku: no order in the store contains SKU 'NOPE-1'"),
    (SKU + ("--message", "en=  "), "error: --message: the en text is empty; write the text en customers should get"),
    (SKU + ("--message", FIXED), "error: --message: 'Good news: we fixed the sole on the Tra…' names no language; "
                                 "write it as LANG=TEXT, e.g. --message en=\"...\""),
    (SKU + ("--message", "nl=Opgelost"), "error: --message: nl is not a language the shop writes in "
                                         "(languages.enabled: en, es, pt, pt-BR, de, fr, it, ja)"),
    (SKU + ("--message", "en=a", "--message", "EN=b"), "error: --message: two texts for en"),
    (SKU, "error: give the text: --message LANG=TEXT (once per language) or --messages FILE"),
])
async def test_bad_input_is_one_line_and_exit_code_2(shop_file, args, message):
    config, db = shop_file
    result = aftercare(config, *args, "--yes")
    assert result.exit_code == 2
    assert result.stderr == message + "\n" and result.stdout == ""
    assert notices(db) == []
