"""Escaping, splitting and payload normalization for Slack: pure functions, captured JSON."""
import pytest

from bot.base.agent_events import AgentActionKind
from bot.channels.slack_blocks import (
    case_card, escape_customer_text, fit, mention, question_messages, split_escaped,
)
from bot.channels.slack_inbound import RecentIds, agent_click, agent_reply, customer_message
from bot.base.events import InboundKind


@pytest.mark.parametrize("raw, shown", [
    ("<!channel>", "&lt;!channel&gt;"),
    ("<!here>", "&lt;!here&gt;"),
    ("<!subteam^S123>", "&lt;!subteam^S123&gt;"),
    ("<@U123>", "&lt;@U123&gt;"),
    ("<https://evil.example|Your bank>", "&lt;https://evil.example|Your bank&gt;"),
    ("@channel", "@channel"),            # harmless: posted with link_names off, verbatim mrkdwn
    ("@here", "@here"),
    ("fish & chips", "fish &amp; chips"),
    ("&lt;!here&gt;", "&amp;lt;!here&amp;gt;"),   # an entity typed by hand stays as typed
])
def test_escape_customer_text(raw, shown):
    assert escape_customer_text(raw) == shown


def test_split_never_cuts_an_entity_and_respects_the_escaped_limit():
    text = "a" * 9 + "<" + "b" * 20
    pieces = split_escaped(text, 10)
    assert all(len(p) <= 10 for p in pieces)
    assert "".join(pieces) == escape_customer_text(text)
    assert pieces[0] == "a" * 9            # "&lt;" would not fit, so it starts the next piece


def test_split_prefers_whitespace():
    assert split_escaped("hello there world", 12) == ["hello there ", "world"]


def test_fit_adds_an_ellipsis_only_when_cut():
    assert fit("short", 10) == "short"
    assert fit("a much longer text", 10) == "a much …"
    assert len(fit("<" * 100, 10)) <= 10


def test_mentions_only_for_well_formed_ids():
    assert mention("U0AGENT") == "<@U0AGENT>"
    assert mention("S0GROUP") == "<!subteam^S0GROUP>"
    assert mention("<!channel>") == "&lt;!channel&gt;"


def test_question_buttons_beyond_25_take_a_second_actions_block():
    [(_, blocks)] = question_messages("Pick", [(str(n), str(n)) for n in range(30)])
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert actions[1]["elements"][0]["action_id"] == "choice_25"


def test_case_card_survives_missing_fields():
    _, blocks = case_card({"id": 7})
    assert blocks[0]["type"] == "header"
    assert all(f["text"].endswith("—") for f in blocks[1]["fields"])


# ---- inbound payloads (shapes as Slack sends them) ----------------------------------------

BOT = "U0BOT"


def im(**extra) -> dict:
    event = {"type": "message", "channel": "D1", "user": "U1", "text": "hi", "ts": "1700000000.000100",
             "event_ts": "1700000000.000100", "channel_type": "im"}
    event.update(extra)
    return event


def test_customer_message_filters():
    assert customer_message(im(), "Ev1", BOT).kind is InboundKind.TEXT
    assert customer_message(im(subtype="message_changed"), "Ev1", BOT) is None
    assert customer_message(im(subtype="bot_message", bot_id="B2"), "Ev1", BOT) is None
    assert customer_message(im(bot_id="B0BOT"), "Ev1", BOT) is None
    assert customer_message(im(user=BOT), "Ev1", BOT) is None
    assert customer_message(im(channel_type="channel"), "Ev1", BOT) is None
    doc = customer_message(im(subtype="file_share", files=[{"id": "F1", "mimetype": "application/pdf"}]),
                           "Ev1", BOT)
    assert doc.kind is InboundKind.MEDIA and doc.media_type == "file" and doc.photo_ids == ()


def test_agent_reply_filters():
    reply = im(channel="C1", channel_type="channel", thread_ts="1700000000.000001")
    assert agent_reply(reply, "Ev2", BOT).case_ref == "1700000000.000001"
    broadcast = dict(reply, subtype="thread_broadcast")
    assert agent_reply(broadcast, "Ev2", BOT).kind is AgentActionKind.REPLY
    assert agent_reply(dict(reply, thread_ts=reply["ts"]), "Ev2", BOT) is None   # the parent itself
    assert agent_reply(im(channel="C1", channel_type="channel"), "Ev2", BOT) is None  # not in a thread
    assert agent_reply(dict(reply, bot_id="B9"), "Ev2", BOT) is None


def test_agent_click_without_action_ts_uses_trigger_id():
    body = {"type": "block_actions", "user": {"id": "U7"}, "trigger_id": "123.abc",
            "container": {"message_ts": "1.2", "channel_id": "C1"},
            "actions": [{"action_id": "case_claim", "value": "42", "type": "button"}]}
    action = agent_click(body)
    assert action.kind is AgentActionKind.CLAIM and action.event_id == "123.abc"
    body["actions"][0]["action_id"] = "something_else"
    assert agent_click(body) is None


def test_recent_ids_are_bounded():
    ids = RecentIds(size=2)
    assert ids.add("a") is False and ids.add("a") is True
    ids.add("b")
    ids.add("c")
    assert len(ids) == 2 and ids.add("a") is False


def test_case_card_shows_the_problem_and_the_request_both():
    _, blocks = case_card({"id": 3, "reason": "product_problem", "problem_type": "damaged",
                           "request": "refund"})
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Problem*\ndamaged" in fields and "*Request*\nrefund" in fields
    assert len(fields) <= 10  # Slack's limit for a section's fields
