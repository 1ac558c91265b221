"""Accuracy, macro-F1 and confusions computed by hand on a tiny fake run (no model needed)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.base import Entity, Parse
from bot.nlu.evaluate import Evaluation, Example, evaluate, plot_confusion


class FakeParser:
    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def parse(self, text: str, language: str | None = None) -> Parse:
        entities = (Entity("rating", "4"),) if "4" in text else ()
        return Parse(text, self.answers[text], 0.9, entities)


EXAMPLES = [Example("yes", "affirm"), Example("yep", "affirm"), Example("no", "deny"),
            Example("nope", "deny"), Example("a 4", "works_well", frozenset({Entity("rating", "4")}))]
ANSWERS = {"yes": "affirm", "yep": "deny", "no": "deny", "nope": "nlu_fallback",
           "a 4": "works_well"}


@pytest.fixture()
def result() -> Evaluation:
    return evaluate(FakeParser(ANSWERS), EXAMPLES)


def test_accuracy_and_macro_f1(result: Evaluation) -> None:
    assert result.accuracy == pytest.approx(3 / 5)
    scores = result.per_intent()
    assert scores["affirm"].f1 == pytest.approx(2 / 3)  # P 1, R 0.5
    assert scores["deny"].f1 == pytest.approx(0.5)      # P 0.5, R 0.5
    assert scores["works_well"].f1 == 1.0
    assert set(scores) == {"affirm", "deny", "works_well"}  # fallback is a miss, not a class
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.5 + 1) / 3)


def test_confused_pairs_and_matrix(result: Evaluation) -> None:
    assert result.confused_pairs() == [("affirm", "deny", 1), ("deny", "nlu_fallback", 1)]
    labels, matrix = result.confusion()
    assert labels[-1] == "nlu_fallback"
    assert sum(map(sum, matrix)) == len(EXAMPLES)
    assert result.entity_scores().f1 == 1.0


def test_confusion_png(result: Evaluation, tmp_path: Path) -> None:
    out = plot_confusion(result, tmp_path / "sub" / "cm.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_confident_errors_count_only_sure_wrong_intents() -> None:
    examples = [Example("a", "affirm"), Example("b", "deny"), Example("c", "deny"),
                Example("d", "thanks")]
    result = Evaluation(examples, ["affirm", "affirm", "deny", "nlu_fallback"],
                        confidences=[0.99, 0.95, 0.97, 0.99])
    assert result.confident_errors() == pytest.approx(1 / 4)    # "b": wrong and sure
    assert result.confident_errors(at_least=0.96) == 0.0
    assert result.confident_answers() == pytest.approx(3 / 4)   # the fallback is no answer
