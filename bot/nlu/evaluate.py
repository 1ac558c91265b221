"""Score a parser on a held-out Rasa NLU file: accuracy, macro-F1, worst confusions, a picture.

Every example goes through the same `Parser.parse` the bot uses, so the figures include the
confidence threshold and fallback, not just Rasa's raw classifier.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from bot.nlu.base import FALLBACK_INTENT, Entity, Parser

CONFIDENT = 0.9  # a parse this sure is acted on; wrong ones at this level are the costly kind


@dataclass(frozen=True)
class Example:
    """One labelled message of the test file."""

    text: str
    intent: str
    entities: frozenset[Entity] = frozenset()


@dataclass(frozen=True)
class IntentScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    """Gold and predicted intents for each example, and the figures derived from them."""

    examples: list[Example]
    predicted: list[str]
    predicted_entities: list[frozenset[Entity]] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """The gold intents: macro-F1 averages over these (a fallback counts as a miss)."""
        return sorted({ex.intent for ex in self.examples})

    @property
    def accuracy(self) -> float:
        hits = sum(ex.intent == pred for ex, pred in zip(self.examples, self.predicted))
        return hits / len(self.examples) if self.examples else 0.0

    def per_intent(self) -> dict[str, IntentScore]:
        scores = {}
        pairs = list(zip((ex.intent for ex in self.examples), self.predicted))
        for label in self.labels:
            tp = sum(g == label and p == label for g, p in pairs)
            fp = sum(g != label and p == label for g, p in pairs)
            fn = sum(g == label and p != label for g, p in pairs)
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            scores[label] = IntentScore(precision, recall, f1, tp + fn)
        return scores

    @property
    def macro_f1(self) -> float:
        scores = self.per_intent()
        return sum(s.f1 for s in scores.values()) / len(scores) if scores else 0.0

    def confused_pairs(self, top: int = 5) -> list[tuple[str, str, int]]:
        """The most frequent (gold, predicted) mistakes, most frequent first."""
        counts = Counter((ex.intent, pred) for ex, pred in zip(self.examples, self.predicted)
                         if ex.intent != pred)
        return [(g, p, n) for (g, p), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                [:top]]

    def confident_errors(self, at_least: float = CONFIDENT) -> float:
        """Share of examples given a wrong intent (not a fallback) with confidence >=
        `at_least`: worse than a fallback, since the bot acts on it without asking."""
        if not self.examples:
            return 0.0
        wrong = sum(pred != ex.intent and pred != FALLBACK_INTENT and conf >= at_least
                    for ex, pred, conf in zip(self.examples, self.predicted, self.confidences))
        return wrong / len(self.examples)

    def confident_answers(self, at_least: float = CONFIDENT) -> float:
        """Share of examples answered with any intent at confidence >= `at_least` (on text
        that is out of scope, each one is a confident wrong answer)."""
        if not self.examples:
            return 0.0
        return sum(pred != FALLBACK_INTENT and conf >= at_least
                   for pred, conf in zip(self.predicted, self.confidences)) / len(self.examples)

    def errors(self) -> list[tuple[Example, str]]:
        return [(ex, pred) for ex, pred in zip(self.examples, self.predicted)
                if ex.intent != pred]

    def entity_scores(self) -> IntentScore:
        """Micro precision/recall/F1 of (entity, value) pairs over all examples."""
        tp = fp = fn = 0
        for ex, found in zip(self.examples, self.predicted_entities):
            tp += len(ex.entities & found)
            fp += len(found - ex.entities)
            fn += len(ex.entities - found)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return IntentScore(precision, recall, f1, tp + fn)

    def confusion(self) -> tuple[list[str], list[list[int]]]:
        """Row labels (gold, plus the fallback column) and the count matrix."""
        labels = self.labels
        if FALLBACK_INTENT in self.predicted and FALLBACK_INTENT not in labels:
            labels = labels + [FALLBACK_INTENT]
        index = {label: i for i, label in enumerate(labels)}
        matrix = [[0] * len(labels) for _ in labels]
        for ex, pred in zip(self.examples, self.predicted):
            if pred in index:
                matrix[index[ex.intent]][index[pred]] += 1
        return labels, matrix


def load_examples(path: Path) -> list[Example]:
    """Read a Rasa 3.x NLU YAML file with Rasa's own reader (entity markup is removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        entities = frozenset(
            Entity(str(e["entity"]), str(e["value"])) for e in message.get("entities") or ())
        examples.append(Example(message.get("text"), message.get("intent"), entities))
    return examples


def evaluate(parser: Parser, examples: Iterable[Example], language: str | None = None) -> Evaluation:
    """Parse every example through the bot's parser (as a customer of `language` when given,
    the way the inbound handler calls the language router)."""
    examples = list(examples)
    parses = [parser.parse(ex.text, language) for ex in examples]
    return Evaluation(examples, [p.intent for p in parses],
                      [frozenset(p.entities) for p in parses], [p.confidence for p in parses])


def plot_confusion(evaluation: Evaluation, out: Path, title: str = "NLU intents") -> Path:
    """Write the confusion matrix as a PNG (gold rows, predicted columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, matrix = evaluation.confusion()
    size = max(6.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)))
    ax.set_yticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right")
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    ax.set_title(f"{title}: accuracy {evaluation.accuracy:.3f}, "
                 f"macro-F1 {evaluation.macro_f1:.3f}")
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center",
                        color="white" if count > peak / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def summary_rows(evaluation: Evaluation) -> Sequence[tuple[str, str, str, str, str]]:
    """Per-intent rows as strings (intent, precision, recall, F1, support) for printing."""
    return [(label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
            for label, s in evaluation.per_intent().items()]
