"""A touchpoint kind is data in config.yml: a test declares a new one (timing, flow, class, which
items) and the real import, scheduler, governor and engine send it, with no code added."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.base.clock import iso
from bot.config.settings import ConfigError
from bot.flowfiles import load_flows
from tests.support.harness import CONFIG, DIALOGS, Harness, make_settings

UTC = timezone.utc
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)     # a Monday, 10:00 Lisbon
TIPS_FLOW = """\
flow: care_tips
description: A care tip two days after delivery.
steps:
  tip:
    say: "Hi {customer.first_name}! A tip for {product.name}: {faq}"
    end: true
"""


def with_kind(**kind) -> dict:
    return {"schedule": {"touchpoints": {"care_tips": {"expires": "7d", **kind}}}}


def dialogs_with_tips(tmp_path: Path) -> Path:
    folder = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, folder)
    (folder / "care_tips.yml").write_text(TIPS_FLOW, encoding="utf-8")
    return folder


async def test_a_kind_declared_in_config_is_scheduled_and_sent(tmp_path):
    # above the check-in's priority: otherwise it would wait for the check-in two days later
    settings = make_settings(**with_kind(**{"from": "delivery", "after": "2d", "priority": 95}))
    h = Harness(settings, flows=load_flows(dialogs_with_tips(tmp_path)), start=NOW)
    h.add_order(delivered=NOW, status="delivered")
    tips = h.touchpoint("A-1", "care_tips")
    assert (tips.flow, tips.due_at) == ("care_tips", iso(NOW + timedelta(days=2)))
    await h.advance(timedelta(days=2))
    assert h.texts()[-1] == ("Hi Ana! A tip for Trail Runner 2 shoes: Clean them with a soft brush and cold water; "
                             "let them air-dry away from heat.")
    assert h.touchpoint("A-1", "care_tips").status == "started"


async def test_a_kind_can_reuse_a_shipped_flow_and_be_timed_from_the_shipment():
    settings = make_settings(**with_kind(**{"flow": "nps", "from": "shipment", "after": "1d",
                                            "class": "transactional"}))
    h = Harness(settings, start=NOW)
    h.add_order(status="shipped", delivered=None, purchased=NOW - timedelta(days=2))
    tips = h.touchpoint("A-1", "care_tips")
    assert tips.flow == "nps"
    assert tips.due_at == iso(NOW - timedelta(days=2) + timedelta(days=1) + timedelta(days=1))


async def test_transactional_kinds_skip_the_weekly_cap_and_proactive_ones_wait():
    # the check-in (proactive) used this week's one contact; a transactional kind still goes out
    settings = make_settings(**with_kind(**{"flow": "thank_you", "from": "delivery", "after": "5d",
                                            "class": "transactional"}))
    h = Harness(settings, start=NOW)
    await h.start_checkin()
    await h.press("5")
    await h.press("no")                                 # no review: the check-in ends
    await h.advance(timedelta(days=1, hours=1))
    assert h.touchpoint("A-1", "care_tips").status == "started"
    proactive = make_settings(**with_kind(**{"flow": "thank_you", "from": "delivery", "after": "5d"}))
    p = Harness(proactive, start=NOW)
    await p.start_checkin()
    await p.press("5")
    await p.press("no")
    await p.advance(timedelta(days=1, hours=1))
    held = p.touchpoint("A-1", "care_tips")
    assert (held.status, held.held_reason) == ("held", "weekly_cap")


async def test_items_each_gives_every_line_item_its_own():
    settings = make_settings(**with_kind(**{"flow": "thank_you", "from": "purchase", "items": "each"}))
    h = Harness(settings, start=NOW)
    h.add_order(sku="TR2-44")
    h.add_order(sku="SOCK-3", product="Trail socks")   # a second line item of the same order
    kinds = sorted((t.sku, t.kind) for t in h.store.orders.touchpoints("A-1") if t.status != "cancelled")
    assert ("SOCK-3", "care_tips") in kinds and ("TR2-44", "care_tips") in kinds


async def test_an_offer_kind_is_never_sent_after_a_low_score_on_the_order():
    settings = make_settings(schedule={"weekly_cap": 5, "touchpoints": {"care_tips": {
        "flow": "replenishment", "from": "delivery", "after": "6d", "class": "offer", "expires": "7d"}}})
    h = Harness(settings, start=NOW)
    await h.start_checkin()
    await h.press("1")                                  # a low score on this order
    await h.advance(timedelta(days=3))
    assert h.touchpoint("A-1", "care_tips").status == "suppressed:low_score"


def test_a_kind_whose_flow_does_not_exist_is_refused_at_start():
    settings = make_settings(**with_kind(**{"flow": "care_tips", "from": "delivery"}))
    with pytest.raises(ConfigError, match="schedule.touchpoints.care_tips: no flow 'care_tips'"):
        Harness(settings)


def test_flows_check_names_a_kind_whose_flow_is_missing(tmp_path):
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  touchpoints:"))
    lines.insert(at + 1, "    care_tips: {from: delivery, after: 2d, expires: 2d}")
    config = tmp_path / "config.yml"
    config.write_text("\n".join(lines) + f"\ndialogs_dir: {DIALOGS}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "flows", "check"])
    assert result.exit_code == 1
    assert f"{config}: schedule.touchpoints.care_tips: no flow 'care_tips' in {DIALOGS}" in result.stderr
    shipped = CliRunner().invoke(main, ["--config", str(CONFIG), "flows", "check", "--dir", str(DIALOGS)])
    assert shipped.exit_code == 0, shipped.stderr
    assert "ok  touchpoint kinds: thank_you, checkin, nps, replenishment" in shipped.output


def test_only_limits_a_kind_to_some_products():
    settings = make_settings(**with_kind(**{"flow": "thank_you", "from": "delivery", "after": "1d",
                                            "only": {"categories": ["skincare"], "skus": ["NCH-700"]}}))
    h = Harness(settings, start=NOW)
    h.add_order("A-1", sku="TR2-44", category="footwear")
    h.add_order("A-2", sku="SERUM-30", category="skincare")
    h.add_order("A-3", sku="NCH-700", category="electronics")
    got = {order: any(t.kind == "care_tips" for t in h.store.orders.touchpoints(order))
           for order in ("A-1", "A-2", "A-3")}
    assert got == {"A-1": False, "A-2": True, "A-3": True}
