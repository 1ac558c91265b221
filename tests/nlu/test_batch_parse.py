"""Batched parsing (#27): several messages read in one run of the model's graph get exactly the
readings each gets alone, and those are Rasa's own (`Agent.parse_message`), on the real model."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.base.parse import FALLBACK_INTENT, INTENTS
from bot.nlu.rasa_nlu import clean_text

ROOT = Path(__file__).resolve().parents[2]
EDGES = ("", "   ", "🙂🙂", "/greet", "4", "ORDER #A-1042 never arrived!!", "thanks a lot!", "asdkjh qwe",
         "the screen arrived cracked " * 40, "Das Paket ist nie angekommen")


def _texts(limit: int = 120) -> list[str]:
    """Lines of the English dev set (data/heldout: read here, never trained on) and edge cases."""
    lines = (ROOT / "data" / "heldout" / "nlu_test_en.yml").read_text(encoding="utf-8").splitlines()
    examples = [m.group(1).strip().strip('"') for m in (re.match(r"^\s+- (.+)$", line) for line in lines) if m]
    return [*EDGES, *examples[:limit]]


def test_a_batch_reads_every_message_as_it_is_read_alone(rasa_parser):
    texts = _texts()
    alone = [rasa_parser.parse(text) for text in texts]
    assert rasa_parser.parse_many(texts) == alone
    for size in (2, 7):                               # and in smaller batches, in any position
        batched = [p for start in range(0, len(texts), size) for p in rasa_parser.parse_many(texts[start:start + size])]
        assert batched == alone
    assert rasa_parser.parse_many([]) == []


def test_a_reading_is_rasas_own(rasa_parser, nlu_settings):
    """The graph run directly gives what Rasa's `Agent.parse_message` gives (the model alone:
    the keyword rules after it are off here)."""
    model = rasa_parser.without_keyword_fallback()
    texts = [text for text in _texts(60) if clean_text(text)]
    readings = model.parse_many(texts)
    for text, parse in zip(texts, readings):
        if parse.confidence == 0.0 and parse.intent == FALLBACK_INTENT and not parse.ranking:
            continue                                  # the unfamiliar-text guard: never reaches Rasa
        raw = asyncio.run(model.agent.parse_message(clean_text(text)))
        name, confidence = raw["intent"]["name"], raw["intent"]["confidence"]
        assert parse.confidence == pytest.approx(confidence, abs=0), text
        expected = name if name in INTENTS and confidence >= nlu_settings.confidence_threshold else FALLBACK_INTENT
        assert parse.intent == expected, text
        assert parse.ranking == tuple((r["name"], r["confidence"]) for r in raw["intent_ranking"]
                                      if r["name"] in INTENTS or r["name"] == FALLBACK_INTENT), text



def test_messages_that_wait_together_are_read_in_one_batch_and_a_lone_one_at_once():
    """The batcher never holds a message back to fill a batch: the first is read alone at once;
    those that came while it was read go together in the next run; a failure the model has
    with one message is that message's alone."""
    import threading

    from bot.base.parse import Parse
    from bot.nlu.batching import Batcher

    runs: list[list[str]] = []
    first_started, release = threading.Event(), threading.Event()

    def parse_many(texts):
        runs.append(list(texts))
        if len(runs) == 1:
            first_started.set()
            release.wait(5)                      # the model is busy with the first message
        if "boom" in texts:
            raise ValueError("the model fell over")
        return [Parse(text=t, intent="thanks", confidence=0.9) for t in texts]

    async def run():
        batcher = Batcher(parse_many)
        first = asyncio.create_task(batcher.aparse("one"))
        await asyncio.to_thread(first_started.wait, 5)
        others = [asyncio.create_task(batcher.aparse(t)) for t in ("two", "boom", "three")]
        await asyncio.sleep(0.05)
        release.set()
        return await first, await asyncio.gather(*others, return_exceptions=True)

    first, others = asyncio.run(run())
    assert first.text == "one"
    assert runs[0] == ["one"]                    # alone, at once
    assert runs[1] == ["two", "boom", "three"]   # what waited meanwhile, in one run
    assert [p.text for p in others if isinstance(p, Parse)] == ["two", "three"]
    assert isinstance(others[1], ValueError)     # only the message the model failed on
