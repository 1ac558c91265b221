"""Batched parsing (#27): several messages read in one run of the model's graph get the readings
each gets alone, and a lone message's are exactly Rasa's own (`Agent.parse_message`), on the real
model. DIET scores a batch in one TensorFlow call (bot/nlu/diet_batch.py): the shorter messages
are padded and masked, which moves float rounding only (confidences within 1e-5)."""
from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import numpy as np
import pytest

from bot.base.parse import FALLBACK_INTENT, INTENTS
from bot.nlu.rasa_nlu import clean_text

ROOT = Path(__file__).resolve().parents[2]
CLOSE = 1e-5  # padded batch vs one message: the same readings, floats within this
EDGES = ("", "   ", "🙂🙂", "/greet", "4", "ORDER #A-1042 never arrived!!", "thanks a lot!", "asdkjh qwe",
         "the screen arrived cracked " * 40, "Das Paket ist nie angekommen")


def _texts(limit: int = 120, language: str = "en") -> list[str]:
    """Lines of a language's dev set (data/heldout: read here, never trained on) and edge cases."""
    lines = (ROOT / "data" / "heldout" / f"nlu_test_{language}.yml").read_text(encoding="utf-8").splitlines()
    examples = [m.group(1).strip().strip('"') for m in (re.match(r"^\s+- (.+)$", line) for line in lines) if m]
    return [*EDGES, *examples[:limit]]


def _same_reading(batched, alone, text):
    """The same intent, entities and ranked intents; confidences within CLOSE."""
    assert (batched.text, batched.intent, batched.entities) == (alone.text, alone.intent, alone.entities), text
    assert batched.confidence == pytest.approx(alone.confidence, abs=CLOSE), text
    assert [name for name, _ in batched.ranking] == [name for name, _ in alone.ranking], text
    assert [c for _, c in batched.ranking] == pytest.approx([c for _, c in alone.ranking], abs=CLOSE), text


@contextlib.contextmanager
def _rasas_own(parser, use_batched_process, nodes: int):
    """The parser's graph nodes that `use_batched_process` swaps (`nodes` of them) back on
    Rasa 3.6's own `process` for the block."""
    runner = parser.model.runner
    found = getattr(runner, "inner", runner)._instantiated_nodes.values()
    assert use_batched_process(found, on=False) == nodes
    try:
        yield
    finally:
        use_batched_process(found, on=True)


def _rasas_own_diet(parser):
    """DIET on Rasa's own `process` (one model call per message)."""
    from bot.nlu.diet_batch import use_batched_process
    return _rasas_own(parser, use_batched_process, 1)


def test_a_batch_reads_every_message_as_it_is_read_alone(rasa_parser):
    texts = _texts()
    alone = [rasa_parser.parse(text) for text in texts]
    batches = [rasa_parser.parse_many(texts)]
    for size in (2, 7):                               # and in smaller batches, in any position
        batches.append([p for start in range(0, len(texts), size)
                        for p in rasa_parser.parse_many(texts[start:start + size])])
    for batched in batches:
        assert len(batched) == len(alone)
        for text, one, other in zip(texts, batched, alone):
            _same_reading(one, other, text)
    assert rasa_parser.parse_many([]) == []


@pytest.mark.parametrize("language", ["en", "es", "pt", "de", "fr", "it"])
def test_one_tensorflow_call_per_batch_reads_as_rasas_loop(language_router, language):
    """Every language's model: batches of mixed lengths (a word to 40 repeats of a sentence),
    scored in one DIET call, read as Rasa's own loop reads them one by one; a lone message is
    bit for bit Rasa's reading."""
    parser = language_router.for_language(language).without_keyword_fallback()
    texts = _texts(80, language)
    with _rasas_own_diet(parser):
        rasas = parser.parse_many(texts)
        lone = parser.parse(texts[-1])
    assert parser.parse(texts[-1]) == lone             # a batch of one is unchanged, exactly
    for size in (len(texts), 13):
        batched = [p for start in range(0, len(texts), size) for p in parser.parse_many(texts[start:start + size])]
        for text, one, other in zip(texts, batched, rasas, strict=True):
            _same_reading(one, other, text)


@contextlib.contextmanager
def _diet_inputs(parser):
    """The featurized messages DIET's node gets, batch by batch, while the block runs."""
    runner = parser.model.runner
    node = next(n for n in getattr(runner, "inner", runner)._instantiated_nodes.values()
                if getattr(n, "_fn_name", None) == "process" and type(n._component).__name__ == "DIETClassifier")
    seen, inner = [], node._fn

    def capture(component, messages):
        seen.append(list(messages))
        return inner(component, messages)

    node._fn = capture
    try:
        yield seen
    finally:
        node._fn = inner


@pytest.mark.parametrize("language", ["en", "de"])
def test_diets_batch_is_the_one_rasa_makes(language_router, language):
    """The batch built straight from the messages' features (diet_batch.model_inputs) is,
    array for array and dtype for dtype, the one Rasa's `_create_model_data` and data generator
    make for the same messages: the model gets the very same input."""
    from rasa.utils.train_utils import create_data_generators

    from bot.nlu.diet_batch import model_inputs

    parser = language_router.for_language(language)
    texts = _texts(60, language)
    with _diet_inputs(parser) as seen:
        for size in (1, 5, len(texts)):
            for start in range(0, len(texts), size):
                parser.parse_many(texts[start:start + size])
    component = parser.model.runner.inner._instantiated_nodes
    diet = next(n._component for n in component.values() if type(n._component).__name__ == "DIETClassifier")
    assert len(seen) > 20
    for messages in seen:
        ours = model_inputs(messages)
        assert ours is not None, [m.get("text") for m in messages]
        data = diet._create_model_data(messages, training=False)
        generator, _ = create_data_generators(data, batch_sizes=len(messages), epochs=1, shuffle=False)
        rasas = generator[0][0]
        assert len(ours) == len(rasas)
        for mine, theirs in zip(ours, rasas):
            assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
            assert np.array_equal(mine, theirs), [m.get("text") for m in messages]


def _rasas_own_count_vectors(parser):
    """The two count-vector featurizers on Rasa's own `process` (two sklearn calls per message)."""
    from bot.nlu.count_batch import use_batched_process
    return _rasas_own(parser, use_batched_process, 2)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_batchs_features_are_those_rasas_loop_gives(language_router, language):
    """Every feature DIET gets for a message read in a batch (the count vectors made in one
    sklearn call per batch: bot/nlu/count_batch.py) is the one Rasa's own loop makes for it:
    the same featurizer, type and order, the same sparse entries, dtypes and shape."""
    parser = language_router.for_language(language)
    texts = _texts(60, language)

    def featurized():
        with _diet_inputs(parser) as seen:
            for size in (len(texts), 7, 1):
                for start in range(0, len(texts), size):
                    parser.parse_many(texts[start:start + size])
        return [message for batch in seen for message in batch]

    ours = featurized()
    with _rasas_own_count_vectors(parser):
        rasas = featurized()
    assert len(ours) == len(rasas) > 100
    for mine, theirs in zip(ours, rasas):
        text = mine.get("text")
        assert text == theirs.get("text")
        assert len(mine.features) == len(theirs.features) > 0, text
        for one, other in zip(mine.features, theirs.features):
            assert (one.type, one.attribute, one.origin) == (other.type, other.attribute, other.origin), text
            a, b = one.features, other.features
            assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype, text
            assert vars(a).keys() == vars(b).keys() and a.has_canonical_format == b.has_canonical_format, text
            for part in ("row", "col", "data"):
                assert getattr(a, part).dtype == getattr(b, part).dtype, (text, part)
                assert np.array_equal(getattr(a, part), getattr(b, part)), (text, part)


def _rasas_agent(parser, nlu_settings):
    """Rasa's own `Agent`, loaded Rasa's way, reading through `parser`'s graph: its
    `parse_message` is Rasa's processor around the very nodes the parser runs."""
    from rasa.core.agent import Agent

    from bot.nlu.rasa_nlu import _quietly, model_path

    with _quietly():
        agent = Agent.load(str(model_path(nlu_settings)))
    agent.processor.graph_runner = parser.model.runner
    agent.processor.model_metadata = parser.model.metadata
    return agent


def test_a_reading_is_rasas_own(rasa_parser, nlu_settings):
    """The graph run directly gives what Rasa's `Agent.parse_message` gives (the model alone:
    the keyword rules after it are off here); one message at a time, exactly."""
    model = rasa_parser.without_keyword_fallback()
    agent = _rasas_agent(model, nlu_settings)
    texts = [text for text in _texts(60) if clean_text(text)]
    for text in texts:
        parse = model.parse(text)
        if parse.confidence == 0.0 and parse.intent == FALLBACK_INTENT and not parse.ranking:
            continue                                  # the unfamiliar-text guard: never reaches Rasa
        with _rasas_own_diet(model):
            raw = asyncio.run(agent.parse_message(clean_text(text)))
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
