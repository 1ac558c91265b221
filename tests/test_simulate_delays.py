"""The delay notice through `aftercare simulate`: the scenarios in tests/scenarios/delays/ (late,
late twice, late then delivered, cancelled while late, quiet hours, STOP) on the console
channel with the table-driven NLU, each with its asserted outcome and transcript."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.sandbox.simulate import simulate_file
from tests.support.harness import ROOT, make_settings
from tests.support.table_parser import TableParser

DELAYS = ROOT / "tests" / "scenarios" / "delays"
SORRY = ("I'm sorry: {product} is taking longer than we promised (it was due on {due}). "
         "Latest from the carrier: {status}.")
BASE = {"csat": None, "nps": None, "ces": None, "escalated": False, "escalation_reason": None,
        "escalation_status": None, "review_requested": False, "upsell_offered": False, "opted_out": False,
        "reachable": True, "rescheduled": False, "owner": "bot", "state": "closed", "delay_notices": 1,
        "milestones": [], "gift_codes": [], "referral_asked": False, "testimonial": None, "referred_orders": 0}
EXPECTED = {
    "late": {},
    "late_twice": {"delay_notices": 2},
    "late_then_delivered": {"csat": 4, "review_requested": True},
    "cancelled_while_late": {},
    "late_quiet_hours": {},
    "late_after_stop": {"opted_out": True},
}


async def play(name: str, **overrides) -> dict:
    return await simulate_file(DELAYS / f"{name}.yml", make_settings(**overrides), TableParser())


def bot_lines(result: dict) -> list[tuple[str, str]]:
    return [(e["at"][:16], e["text"]) for e in result["transcript"] if e["from"] == "bot"]


def test_every_delay_scenario_has_an_expected_outcome():
    assert {p.stem for p in DELAYS.glob("*.yml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_delay_scenario_outcome(name):
    result = await play(name)
    assert result["outcome"] == {**BASE, **EXPECTED[name]}
    assert "is taking longer than we promised" in result["transcript"][0]["text"]


async def test_late_one_apology_with_status_and_goodwill_code_and_no_checkin_before_delivery():
    lines = bot_lines(await play("late"))
    assert len(lines) == 1                                   # five more days: nothing else, no check-in
    at, text = lines[0]
    assert at == "2026-11-02T10:00"
    assert SORRY.format(product="Noise-Cancelling Headphones", due="November 1", status="in transit") in text
    assert text.endswith("here is a code for your next order: SORRY10")


async def test_late_without_a_code_configured_says_when_we_will_check_in():
    lines = bot_lines(await play("late", delays={"goodwill_code": {"electronics": ""}}))
    assert "SORRY10" not in lines[0][1] and lines[0][1].endswith("I'll check in once it has arrived.")


async def test_late_twice_waits_renotify_after_for_the_second_notice():
    lines = bot_lines(await play("late_twice"))
    (first, _), (second, text) = lines
    # the new estimate (+1d, +12h grace) passed on day 1; the second notice waits for day 3
    assert datetime.fromisoformat(second) - datetime.fromisoformat(first) == timedelta(days=3)
    assert "Latest from the carrier: out for delivery." in text
    assert all("How is" not in line for _, line in lines)


async def test_late_then_delivered_times_the_checkin_from_the_real_delivery():
    result = await play("late_then_delivered")
    lines = bot_lines(result)
    checkin = next(at for at, text in lines if text.startswith("Hi Ben! Thanks again"))
    assert checkin == "2026-11-07T10:00"      # delivered 11-04 10:00 + 3d (electronics), not estimate + 3d


async def test_cancelled_while_late_gets_nothing_more():
    assert len(bot_lines(await play("cancelled_while_late"))) == 1


async def test_quiet_hours_hold_the_notice_until_morning():
    (at, _), = bot_lines(await play("late_quiet_hours"))
    assert at == "2026-11-03T09:00"                          # late at 22:30 Lisbon; quiet until 09:00


async def test_stop_ends_delay_notices_too():
    lines = bot_lines(await play("late_after_stop"))
    assert len(lines) == 2 and lines[1][1].startswith("Done: you won't get any more messages")


async def test_a_delay_notice_uses_no_weekly_cap_slot():
    result = await play("late_then_delivered", schedule={"weekly_cap": 1})
    assert result["outcome"]["csat"] == 4                    # the check-in still went out the same week


@pytest.mark.parametrize("language, due, status", [
    ("de", "(geplant war der 1. November). Letzter Stand beim Versanddienst: vom Zoll zurückgehalten.", None),
    ("es", "(debía llegar el 1 de noviembre). Último estado del transportista: retenido en la aduana.", None),
    ("pt-BR", "(deveria ter chegado em 1 de novembro). Último status da transportadora: retido na alfândega.", None),
    ("fr", "(livraison prévue le 1 novembre). Dernier statut du transporteur : retenu en douane.", None),
    ("ja", "（お届け予定日：11月1日）。配送業者の最新状況：税関で保留中。", None),
    ("it", "(doveva arrivare il 1 novembre). Ultimo stato del corriere: fermo in dogana.", None),
    ("en", "(it was due on November 1). Latest from the carrier: held at customs.", None),
    ("de", "Letzter Stand beim Versanddienst: returned to sender.", "returned_to_sender"),   # unknown: as written
])
async def test_the_notice_speaks_the_customers_language_dates_and_carrier_words(tmp_path, language, due, status):
    late = (DELAYS / "late.yml").read_text(encoding="utf-8").replace("language: en", f"language: {language}")
    late = late.replace("shipment_status: in_transit", f"shipment_status: {status or 'held_at_customs'}")
    path = tmp_path / "late.yml"
    path.write_text(late, encoding="utf-8")
    result = await simulate_file(path, make_settings(), TableParser())
    assert due in bot_lines(result)[0][1]
