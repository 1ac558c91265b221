"""`aftercare customer export|forget` and the free-text retention on the store of a sandbox run,
through the CLI: what the store holds afterwards."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.base.clock import parse_iso
from bot.config.loading import load_settings
from bot.ops.data_rights import erase_old_free_text, os_user
from bot.store.privacy import ERASED
from tests.privacy.conftest import held_text
from tests.support.harness import CONFIG

# A-1003: Yuki Tanaka on Telegram 512340987, CSAT 1, a case about a cracked bottle (her words are
# Japanese: CRACKED), then CES 6.
# (Hannah, A-1015, plays the same persona: her "it arrived cracked" stays.)
YUKI = ("Yuki", "yuki.tanaka@example.com", "512340987", "A-1003", "C-003")
CRACKED = "ひびが入っていました"          # "it arrived cracked", as the Japanese persona says it


def cli(config, *args):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def customer_id(store, ref="C-003") -> int:
    return store.db.execute("select id from customers where ref = ?", [ref]).fetchone()[0]


def test_export_holds_everything_about_the_customer(sandbox_store, config_for):
    config = config_for(sandbox_store.db.execute("pragma database_list").fetchone()[2])
    for ref in ("A-1003", "yuki.tanaka@example.com", "telegram:512340987", "512340987", "C-003",
                f"id:{customer_id(sandbox_store)}"):
        result = cli(config, "customer", "export", ref)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["customer"]["name"] == "Yuki Tanaka"
    assert [o["order_id"] for o in data["orders"]] == ["A-1003"]
    assert data["orders"][0]["items"][0]["sku"] == "SERUM-30"
    assert {i["channel"]: i["address"] for i in data["identities"]} == {"telegram": "512340987"}
    assert data["consent_ledger"][0]["action"] == "opt_in"
    assert ("csat", 1) in [(s["metric"], s["score"]) for s in data["scores"]]
    assert ("ces", 6) in [(s["metric"], s["score"]) for s in data["scores"]]
    words = [m["text"] for c in data["conversations"] for m in c["messages"] if m["direction"] == "in"]
    assert any(CRACKED in w for w in words)
    [case] = data["cases"]
    assert CRACKED in case["text"] and case["status"] == "resolved"
    assert case["thread_posts"][0]["kind"] == "case_card"
    assert any(p["text"].startswith("Customer: ") for p in case["thread_posts"])
    assert all(row["address"] == "512340987" for row in data["outbox"])


def test_forget_erases_personal_data_keeps_scores_and_logs(sandbox_store, config_for):
    store = sandbox_store
    config = config_for(store.db.execute("pragma database_list").fetchone()[2])
    cid = customer_id(store)
    identity_id = store.customers.identities_of(cid)[0].id
    scores_before = store.db.execute("select metric, score, sku from responses where customer_id = ? "
                                     "and score is not null order by id", [cid]).fetchall()
    totals_before = {t: store.db[t].count for t in ("responses", "escalations", "orders", "line_items", "messages")}
    others_before = store.db.execute("select count(*) from messages where text = ?", [ERASED]).fetchone()[0]
    assert others_before == 0

    result = cli(config, "customer", "forget", "A-1003", "--yes")
    assert result.exit_code == 0, result.stderr
    assert f"customer {cid} forgotten by {os_user()}" in result.stdout

    store.db.conn.commit()
    held = held_text(store)
    for value in YUKI:
        assert value not in held, value
    words = store.db.execute("select text from messages where direction = 'in' and identity_id = ? "
                             "union all select text from escalations where customer_id = ? "
                             "union all select slots from conversations where customer_id = ?", [identity_id, cid, cid])
    assert not any(CRACKED in text for (text,) in words)
    # anonymous scores stay, for the statistics; so do rows counted by the reports
    assert store.db.execute("select metric, score, sku from responses where customer_id = ? and score is not null "
                            "order by id", [cid]).fetchall() == scores_before
    assert {t: store.db[t].count for t in totals_before} == totals_before
    customer = store.customers.get(cid)
    assert (customer.name, customer.email, customer.ref) == (None, None, f"forgotten-{cid}")
    assert customer.forgotten_at
    [identity] = store.customers.identities_of(cid)
    assert not identity.contactable and identity.address is None and identity.opted_out
    # only this customer's words are gone
    assert store.db.execute("select count(*) from messages where direction = 'in' and text != ?",
                            [ERASED]).fetchone()[0] > 10
    # who and when, without the data
    [entry] = store.privacy.erasures()
    assert entry.kind == "forget" and entry.actor == os_user() and entry.customer_id == cid
    assert entry.counts["messages"] > 0 and entry.counts["orders"] == 1
    # the Slack posts that quoted them: deleted and the card redrawn, through the outbox
    queued = store.db.execute("select kind, status, payload from outbox where kind in ('delete_post', 'case_update') "
                              "and status = 'pending'").fetchall()
    kinds = sorted(k for k, _, _ in queued)
    assert kinds.count("case_update") == 1 and kinds.count("delete_post") >= 1
    # nothing left to send to them, nothing scheduled
    assert store.db.execute("select count(*) from outbox where identity_id = ? and status = 'pending'",
                            [identity.id]).fetchone()[0] == 0
    assert store.db.execute("select count(*) from touchpoints where order_id like 'forgotten-%' and status in "
                            "('pending', 'held')").fetchone()[0] == 0

    again = cli(config, "customer", "forget", f"id:{cid}", "--yes")
    assert again.exit_code == 0 and "already forgotten" in again.stdout
    assert len(store.privacy.erasures()) == 1
    # their old references find nobody now
    gone = cli(config, "customer", "export", "A-1003")
    assert gone.exit_code == 2 and gone.stdout == ""
    assert gone.stderr.count("\n") == 1 and gone.stderr.startswith("error: 'A-1003' belongs to a customer who was "
                                                                    "already forgotten")


def test_unknown_or_ambiguous_customer_is_a_one_line_error_with_exit_code_2(sandbox_store, config_for):
    config = config_for(sandbox_store.db.execute("pragma database_list").fetchone()[2])
    for args in (("export", "nobody@example.com"), ("forget", "Z-9999", "--yes"), ("export", "id:999999")):
        result = cli(config, "customer", *args)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert sandbox_store.privacy.erasures() == []
    missing = config_for(sandbox_store.db.execute("pragma database_list").fetchone()[2] + ".nope")
    result = cli(missing, "customer", "export", "A-1003")
    assert result.exit_code == 1 and result.stderr.startswith("error: no store at ")
    assert result.stderr.count("\n") == 1 and not Path(str(missing.parent / "store" / "aftercare.db.nope")).exists()


def test_retention_erases_only_words_older_than_the_limit(sandbox_store):
    store = sandbox_store
    settings = load_settings(CONFIG, environ={})
    assert settings.privacy.free_text_retention == timedelta(days=180)
    last = max(parse_iso(r[0]) for r in store.db.execute("select at from messages").fetchall())
    first_in = min(parse_iso(r[0]) for r in store.db.execute("select at from messages where direction = 'in'"))
    words_before = store.db.execute("select count(*) from messages where direction = 'in'").fetchone()[0]
    scores_before = store.db.execute("select metric, score from responses order by id").fetchall()

    assert not any(erase_old_free_text(store, settings, last, "test").values())       # all younger than 180 days
    assert store.privacy.erasures() == []

    # the day the first words turn 180 days old plus a week: some erased, the later ones kept
    some = erase_old_free_text(store, settings, first_in + timedelta(days=187), "test")
    left = store.db.execute("select count(*) from messages where direction = 'in' and text != ?", [ERASED]).fetchone()[0]
    assert some["messages"] > 0 and 0 < left < words_before

    counts = erase_old_free_text(store, settings, last + timedelta(days=181), "test")
    assert counts["messages"] == left
    assert store.db.execute("select count(*) from messages where direction = 'in' and text != ?",
                            [ERASED]).fetchone()[0] == 0
    assert store.db.execute("select count(*) from responses where coalesce(text, '') not in ('', ?)",
                            [ERASED]).fetchone()[0] == 0
    assert store.db.execute("select count(*) from escalations where text != ?", [ERASED]).fetchone()[0] == 0
    assert CRACKED not in held_text(store) and "cracked" not in held_text(store)
    assert store.db.execute("select metric, score from responses order by id").fetchall() == scores_before
    assert [e.kind for e in store.privacy.erasures()] == ["retention", "retention"]
    deletes = store.db.execute("select count(*) from outbox where kind = 'delete_post'").fetchone()[0]
    assert deletes >= 4 and deletes == sum(e.counts["slack_posts_deleted"] for e in store.privacy.erasures())
    # a second run the next day finds nothing more to do
    assert not any(erase_old_free_text(store, settings, last + timedelta(days=182), "test").values())
