"""`simulate` end to end with the real Rasa model, on every channel: free text understood by
the trained model, buttons through the real Telegram/Slack clients and loopback servers."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.config.loading import load_settings
from bot.sandbox.simulate import simulate_file

ROOT = Path(__file__).resolve().parents[1]
ORDER = "order: {order_id: A-1001, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, delivered_days_ago: 4}"


def scenario(tmp_path: Path, channel: str, body: str) -> Path:
    path = tmp_path / f"{channel}.yml"
    path.write_text(f"channel: {channel}\ncustomer: {{name: Ana Silva, language: en}}\n{ORDER}\n"
                    + textwrap.dedent(body))
    return path


async def play(path: Path, parser) -> dict:
    return await simulate_file(path, load_settings(ROOT / "config.yml"), parser)


def bot_texts(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] == "bot"]


@pytest.mark.parametrize("channel", ["console", "telegram", "slack"])
async def test_problem_in_free_text_escalates_with_the_intent_as_reason(tmp_path, rasa_parser, channel):
    result = await play(scenario(tmp_path, channel, """
        turns:
          - say: "the sole came off after a week"
        """), rasa_parser)
    outcome = result["outcome"]
    assert outcome["escalated"] and outcome["escalation_reason"] == "product_problem"
    assert outcome["csat"] is None and outcome["escalation_status"] == "open"
    assert len(result["support_channel"]) == 1          # the case card, posted once
    assert not any("What went wrong" in t for t in bot_texts(result))   # no triage question


async def test_happy_customer_gets_the_review_link_and_no_second_ask_on_telegram(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "telegram", """
        turns:
          - press: "5"
          - press: "Sure"
        """), rasa_parser)
    outcome = result["outcome"]
    assert outcome["csat"] == 5 and outcome["review_requested"] and not outcome["upsell_offered"]   # one ask
    assert any("shop.example/p/trail-runner-2/review" in t for t in bot_texts(result))
    assert outcome["state"] == "closed" and not outcome["escalated"]


async def test_score_stated_in_words_is_recorded(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "console", """
        turns:
          - say: "I'd give it a 4"
        """), rasa_parser)
    assert result["outcome"]["csat"] == 4 and result["outcome"]["review_requested"]


async def test_stop_then_silence_on_slack(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "slack", """
        turns:
          - say: "stop messaging me"
          - say: "hello?"
          - wait: 10d
        """), rasa_parser)
    assert result["outcome"]["opted_out"]
    after_stop = [e for e in result["transcript"][result["transcript"].index(
        next(e for e in result["transcript"] if e["text"] == "stop messaging me")) + 1:] if e["from"] == "bot"]
    assert len(after_stop) == 1 and "won't get any more messages" in after_stop[0]["text"]


async def test_not_used_yet_reschedules_and_checks_back(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "telegram", """
        turns:
          - say: "haven't opened it yet, it's still in the box"
        """), rasa_parser)
    assert result["outcome"]["rescheduled"] and result["outcome"]["csat"] is None
    assert result["outcome"]["state"] == "waiting" and not result["outcome"]["escalated"]


async def test_full_agent_loop_on_telegram_with_ces_and_review(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "telegram", """
        turns:
          - press: "1"
          - say: "it arrived broken, the box was crushed"
          - say: "great, thank you!"
          - press: "7"
        agent:
          - claim
          - reply: "So sorry! A replacement ships today."
          - resolve
        """), rasa_parser)
    outcome = result["outcome"]
    assert outcome["csat"] == 1 and outcome["escalation_reason"] == "product_problem"
    assert outcome["escalation_status"] == "resolved" and outcome["owner"] == "bot"
    assert outcome["ces"] == 7 and outcome["review_requested"] and not outcome["upsell_offered"]
    senders = [e["from"] for e in result["transcript"]]
    assert "agent" in senders
    assert any("great, thank you!" in post["text"] for post in result["support_channel"])  # relayed to the thread


async def test_blocked_customer_becomes_unreachable(tmp_path, rasa_parser):
    result = await play(scenario(tmp_path, "telegram", """
        turns:
          - block
          - wait: 30d
        """), rasa_parser)
    # the check-in went out before the block; the NPS survey a month later hits the 403
    assert result["outcome"]["reachable"] is False
    assert sum(1 for e in result["transcript"] if e["from"] == "bot" and "recommend" in e["text"]) == 0


def test_simulate_cli_prints_one_json_object(tmp_path, rasa_parser):
    from bot.cli import main

    path = scenario(tmp_path, "console", """
        turns:
          - press: "4"
        """)
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yml"), "simulate", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"transcript", "support_channel", "outcome", "touchpoints", "fix_notices",
                         "desk_actions", "agents_told"}
    assert data["outcome"]["csat"] == 4 and data["fix_notices"] == []
    assert {"order_id": "A-1001", "kind": "checkin", "status": "started"} in data["touchpoints"]
