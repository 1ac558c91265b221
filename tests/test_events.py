"""Normalized events hold only text that can be stored and sent."""
from datetime import datetime, timezone

from bot.base.agent_events import AgentAction, AgentActionKind
from bot.base.events import InboundEvent, InboundKind, storable

AT = datetime(2026, 11, 30, tzinfo=timezone.utc)


def test_a_lone_surrogate_becomes_the_replacement_character():
    assert storable("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert storable(("x\ud800", "ok")) == ("x\ufffd", "ok")
    assert storable("\U0001F600 fine") == "\U0001F600 fine"


def test_events_are_cleaned_and_keep_their_enum_kinds():
    event = InboundEvent("telegram", "1", "42", InboundKind.BUTTON, AT, text="\ud83d", button_value="v\udc00")
    assert event.text == "\ufffd" and event.button_value == "v\ufffd"
    assert event.kind is InboundKind.BUTTON
    action = AgentAction(AgentActionKind.REPLY, "1.2", "U1", "e1", AT, text="hi \ud800")
    assert action.text == "hi \ufffd" and action.kind is AgentActionKind.REPLY
