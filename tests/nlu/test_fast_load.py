"""The fast load (eager weight building, graph traced without autograph) must not change a
single prediction compared with Rasa's own `Agent.load`."""
from __future__ import annotations

import pytest

from bot.nlu.rasa_nlu import RasaParser, _quietly, model_path

pytestmark = pytest.mark.nlu

TEXTS = ["stop", "the sole came off after a week", "still in the box", "I'd give it a 4",
         "can I talk to a person", "meh, it's fine i guess", "how do I clean it?",
         "arrived broken, I want a refund", "where is my parcel", "thanks a lot!"]


def test_fast_load_predicts_exactly_like_agent_load(rasa_parser, nlu_settings) -> None:
    from rasa.core.agent import Agent

    with _quietly():
        agent = Agent.load(str(model_path(nlu_settings)))
    plain = RasaParser(agent, nlu_settings.confidence_threshold, rasa_parser._vocabulary)
    try:
        for text in TEXTS:
            fast, slow = rasa_parser.parse(text), plain.parse(text)
            assert (fast.intent, fast.entities) == (slow.intent, slow.entities), text
            assert fast.confidence == pytest.approx(slow.confidence, abs=1e-5), text
            assert [name for name, _ in fast.ranking] == [name for name, _ in slow.ranking]
    finally:
        plain.close()
