"""Export and forget on stores filled by `simulate` runs of every shipped scenario (console
channel), through the CLI: what the export holds, and what the store holds afterwards."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.sandbox.scenario import Say, load_scenario
from bot.sandbox.simulate import SIM_CUSTOMER_REF, simulate_file
from bot.store.privacy import ERASED
from bot.store.store import Store
from tests.privacy.conftest import held_text
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.yml"))


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


async def simulated(path: Path, db: Path) -> tuple[Store, dict]:
    store = Store.open(db)
    result = await simulate_file(path, make_settings(), TableParser(), store)
    return store, result


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
async def test_export_then_forget_a_simulated_customer(scenario: Path, tmp_path: Path, config_for):
    db = tmp_path / "store" / "aftercare.db"
    db.parent.mkdir()
    store, result = await simulated(scenario, db)
    config = config_for(db)
    order_id = store.db.execute("select order_id from orders").fetchone()[0]
    scenario_doc = load_scenario(scenario)
    typed = [t.text for t in scenario_doc.turns if isinstance(t, Say)]
    name = str(scenario_doc.customer.get("name", "Sam Customer"))

    exported = cli(config, "customer", "export", f"ref:{SIM_CUSTOMER_REF}")
    assert exported.exit_code == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert [o["order_id"] for o in data["orders"]] == [order_id]
    held = [m["text"] for c in data["conversations"] for m in c["messages"]] + \
        [m["text"] for m in data["messages_outside_conversations"]]
    stored = held_text(store)
    kept = [t for t in typed if t in stored]          # (a customer who sent STOP is not read any more)
    assert len(kept) >= min(1, len(typed))
    assert all(any(t in h for h in held) for t in kept)
    outcome = result["outcome"]
    for metric in ("csat", "nps", "ces"):
        scores = [s["score"] for s in data["scores"] if s["metric"] == metric]
        assert (scores[-1] if scores else None) == outcome[metric]
    assert len(data["cases"]) == int(outcome["escalated"])
    assert data["consent_ledger"][0]["action"] == "opt_in"

    scores_before = store.db.execute("select metric, score from responses order by id").fetchall()
    forgotten = cli(config, "customer", "forget", order_id, "--yes")
    assert forgotten.exit_code == 0, forgotten.stderr
    text = held_text(store)
    for value in [order_id, SIM_CUSTOMER_REF, *name.split(), *typed]:
        assert value not in text, value
    assert store.db.execute("select metric, score from responses order by id").fetchall() == scores_before
    assert store.db.execute("select count(*) from messages where text != ?", [ERASED]).fetchone()[0] == 0
    assert store.cases.all_active() == [] and store.db.execute(
        "select count(*) from outbox where status = 'pending' and channel != 'support'").fetchone()[0] == 0
    store.close()


async def test_forget_with_a_case_still_open_leaves_nothing_running(tmp_path: Path, config_for):
    """The customer is forgotten while an agent has not answered yet: the case closes, no SLA
    reminder, wake-up or touchpoint is left for them, and the card is redrawn without their words."""
    text = (ROOT / "tests" / "scenarios" / "low_score_escalation.yml").read_text(encoding="utf-8")
    path = tmp_path / "open_case.yml"
    path.write_text(text[:text.index("agent:")], encoding="utf-8")
    db = tmp_path / "aftercare.db"
    store, result = await simulated(path, db)
    [case] = store.cases.all_active()
    assert case.status == "open"
    forgotten = cli(config_for(db), "customer", "forget", "console:sim-customer", "--yes")
    assert forgotten.exit_code == 0, forgotten.stderr
    case = store.cases.get(case.id)
    assert case.status == "resolved" and case.text == ERASED and case.photos == []
    later = datetime.now(timezone.utc) + timedelta(days=60)
    assert store.cases.overdue(later) == [] and store.conversations.due_wakeups(later) == []
    assert store.orders.due_touchpoints(later) == []
    pending = {r[0] for r in store.db.execute("select kind from outbox where status = 'pending'")}
    assert pending == {"case_update", "delete_post"}          # the card redrawn, "Customer: ok thanks" deleted
    store.close()
