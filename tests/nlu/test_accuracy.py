"""The held-out set through the bot's own parse path, against the target issue #14 names:
macro-F1 >= 0.95 on sentences that share nothing with training (test_data_hygiene.py)."""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import evaluate, load_examples

pytestmark = pytest.mark.nlu

TARGET_MACRO_F1 = 0.95  # also printed by `make bench` (bench/nlu_bench.py TARGETS)


def test_macro_f1_on_the_held_out_set(rasa_parser, nlu_settings) -> None:
    examples = load_examples(nlu_settings.test_data)
    assert len({ex.intent for ex in examples}) == 12
    result = evaluate(rasa_parser, examples)
    worst = result.confused_pairs(5)
    assert result.macro_f1 >= TARGET_MACRO_F1, f"macro-F1 {result.macro_f1:.3f}; worst: {worst}"


def test_few_confident_wrong_intents_on_the_held_out_set(rasa_parser, nlu_settings) -> None:
    result = evaluate(rasa_parser, load_examples(nlu_settings.test_data))
    assert result.confident_errors() < 0.03, result.confused_pairs(5)
