"""The held-out set through the bot's own parse path (the 0.90 target is checked by the bench)."""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import evaluate, load_examples

pytestmark = pytest.mark.nlu


def test_macro_f1_on_the_held_out_set(rasa_parser, nlu_settings) -> None:
    examples = load_examples(nlu_settings.test_data)
    assert len({ex.intent for ex in examples}) == 12
    result = evaluate(rasa_parser, examples)
    worst = result.confused_pairs(5)
    assert result.macro_f1 >= 0.85, f"macro-F1 {result.macro_f1:.3f}; worst: {worst}"
    assert result.accuracy >= 0.85, worst
