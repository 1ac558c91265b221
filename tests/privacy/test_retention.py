"""`privacy.free_text_retention`: validated in config, run once a day by the running bot (here:
the sandbox loop, on a store filled by a sandbox run and by a `simulate` run)."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.base.clock import parse_iso
from bot.config.settings import ConfigError
from bot.config.loading import load_settings
from bot.ops.data_rights import Retention
from bot.sandbox.demo import SandboxDemo
from bot.sandbox.simulate import simulate_file
from bot.store.privacy import ERASED
from bot.store.store import Store
from tests.privacy.conftest import held_text
from tests.support.harness import CONFIG, ROOT, make_settings
from tests.support.table_parser import TableParser


def config_error(tmp_path: Path, body: str) -> str:
    path = tmp_path / "config.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return str(caught.value).replace(f"{tmp_path}/", "")


def test_retention_setting_is_validated(tmp_path):
    assert make_settings().privacy.free_text_retention == timedelta(days=180)
    assert load_settings(CONFIG, environ={}, overrides={"privacy": {"free_text_retention": "off"}}) \
        .privacy.free_text_retention is None
    off = tmp_path / "off.yml"
    off.write_text("privacy:\n  free_text_retention: off\n", encoding="utf-8")     # YAML reads a bare off as false
    assert load_settings(off, environ={}).privacy.free_text_retention is None
    assert config_error(tmp_path, "privacy:\n  free_text_retention: 6 months\n") == \
        'config.yml:2: privacy.free_text_retention: "6 months" is not a duration (use e.g. 45s, 30m, 72h, 4d, 2w)'
    assert config_error(tmp_path, "privacy:\n  free_text_retention: 12h\n").startswith(
        'config.yml:2: privacy.free_text_retention: "12h" is shorter than a day')
    assert config_error(tmp_path, "digest:\n  day: someday\n") == \
        'config.yml:2: digest.day: "someday" is not a day of the week (e.g. monday)'
    assert "digest.hour" in config_error(tmp_path, "digest:\n  hour: 25\n")


async def test_retention_runs_daily_on_a_simulated_store():
    store = Store.memory()
    settings = make_settings(privacy={"free_text_retention": "1d"})
    await simulate_file(ROOT / "tests" / "scenarios" / "low_score_escalation.yml", settings, TableParser(), store)
    said = store.db.execute("select count(*) from messages where direction = 'in' and text != ?", [ERASED]).fetchone()[0]
    assert said == 3 and "the sole came off" in held_text(store)
    last = max(parse_iso(r[0]) for r in store.db.execute("select at from messages"))
    retention = Retention(store, settings)
    assert not any(retention.tick(last).values())                  # nothing a day old yet
    assert retention.tick(last + timedelta(hours=23)) is None       # not again the same day
    counts = retention.tick(last + timedelta(days=1, seconds=1))
    assert counts["messages"] == 3 and counts["cases"] == 1 and counts["conversations"] == 1
    assert "the sole came off" not in held_text(store) and "ok thanks" not in held_text(store)
    assert [e.actor for e in store.privacy.erasures()] == ["aftercare run (retention)"]
    # the desk posts that quoted the customer are deleted, the card redrawn, through the outbox
    assert {r[0] for r in store.db.execute("select kind from outbox where status = 'pending'")} == \
        {"delete_post", "case_update"}
    assert Retention(store, make_settings(privacy={"free_text_retention": None})).tick(last + timedelta(days=9)) is None


def test_the_sandbox_loop_erases_old_words_and_their_slack_posts(sandbox_db):
    """A sandbox run with a two-day retention: words older than that are gone by its end, and
    the bot deleted their posts in the support channel."""
    settings = load_settings(CONFIG, environ={}, overrides={"privacy": {"free_text_retention": "2d"}})
    store = Store.memory()
    demo = SandboxDemo(settings, store, TableParser(), speed=0)
    asyncio.run(asyncio.wait_for(demo.run(), timeout=90))
    end = demo.clock.now()
    runs = store.privacy.erasures()
    assert runs and {e.kind for e in runs} == {"retention"}
    # once a day: no two runs within a day of each other
    times = [parse_iso(e.at) for e in runs]
    assert all(b - a >= timedelta(days=1) for a, b in zip(times, times[1:]))
    last_run = times[-1]
    old = store.db.execute("select count(*) from messages where direction = 'in' and at < ? and text != ?",
                           [(last_run - timedelta(days=2)).isoformat(), ERASED]).fetchone()[0]
    assert old == 0
    kept = store.db.execute("select count(*) from messages where direction = 'in' and text != ?", [ERASED]).fetchone()[0]
    assert kept > 0 and last_run <= end
    deleted = demo.world.server("slack").workspace.deleted
    assert deleted and all(m.text.startswith("Customer: ") for m in deleted)
    assert sum(e.counts["slack_posts_deleted"] for e in runs) == len(deleted)
    # the scores are all still there, the same as in a run that keeps every word
    sandbox_path = sandbox_db[0]
    full = Store.open(sandbox_path)
    try:
        assert store.db.execute("select metric, score from responses order by id").fetchall() == \
            full.db.execute("select metric, score from responses order by id").fetchall()
    finally:
        full.close()
    store.close()
