"""`aftercare report` through click: the JSON object, the tables, and one-line errors (exit 2)
for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.store.shop_fixture import write_shop
from tests.support.harness import CONFIG, ROOT


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "shop.db"
    write_shop(path)
    return path


def aftercare(db: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args], env={"AFTERCARE_DB": str(db)},
                              catch_exceptions=False)


def test_json_is_one_object_with_the_documented_shape(shop_db):
    result = aftercare(shop_db, "--since", "2026-11-02", "--until", "2026-11-08", "--by", "sku", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"period", "overall", "groups", "themes", "at_risk"}
    assert data["period"] == {"since": "2026-11-02", "until": "2026-11-08"}
    overall = data["overall"]
    for key in ("checkins_sent", "response_rate", "csat", "nps", "ces", "escalation_rate", "cases", "reviews",
                "upsells", "opt_outs"):
        assert key in overall
    assert set(overall["csat"]) >= {"n", "mean", "satisfied_pct"}
    assert set(overall["nps"]) >= {"n", "promoters", "passives", "detractors", "score"}
    assert set(overall["cases"]) >= {"opened", "claimed", "resolved"}
    assert overall["response_rate"] == 0.8333 and overall["csat"]["mean"] == 2.2
    assert all("key" in g for g in data["groups"])
    assert {r["kind"] for r in data["at_risk"]} == {"low_score", "case_past_sla", "stopped_answering"}


def test_tables_show_the_figures_and_who_is_at_risk(shop_db):
    result = aftercare(shop_db, "--since", "2026-11-02", "--until", "2026-11-08", "--compare")
    assert result.exit_code == 0, result.output
    assert "5 (83%)" in result.output                 # responses and rate
    assert "2026-10-26 → 2026-11-01" in result.output  # the previous period beside it
    assert "At risk: 3 customers (4 reasons)" in result.output
    assert "Yuki Tanaka" in result.output and "stopped answering" in result.output
    assert "the sole came off" in result.output and "refund ×1" in result.output


@pytest.mark.parametrize("args, message", [
    (("--by", "colour"), "error: --by 'colour' is not one of sku, category, channel, week, cohort, language, agent"),
    (("--since", "2026-13-01"), "error: --since '2026-13-01' is not a date; write YYYY-MM-DD, e.g. 2026-11-02"),
    (("--until", "yesterday"), "error: --until 'yesterday' is not a date; write YYYY-MM-DD, e.g. 2026-11-02"),
    (("--since", "2026-11-09", "--until", "2026-11-08"),
     "error: --since/--until: the period starts (2026-11-09) after it ends (2026-11-08)"),
    (("--compare",), "error: --compare needs --since (the previous period has the same length)"),
])
def test_bad_input_is_one_line_and_exit_code_2(shop_db, args, message):
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "report", *args],
                                                env={"AFTERCARE_DB": str(shop_db)})
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


def test_a_missing_store_is_named(tmp_path):
    result = aftercare(tmp_path / "nowhere.db")
    assert result.exit_code == 1
    assert "no store at" in result.output and "nowhere.db" in result.output
    assert not (tmp_path / "nowhere.db").exists()      # a report never creates a store


def test_simulate_keeps_its_store_only_in_a_new_file(shop_db):
    before = shop_db.read_bytes()
    result = CliRunner().invoke(main, ["--config", str(CONFIG), "simulate", str(ROOT / "tests" / "scenarios" / "happy_path.yml"),
                                       "--db", str(shop_db)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert shop_db.read_bytes() == before
