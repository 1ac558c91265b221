"""Score the parser the bot runs (`LanguageRouter.parse(text, language)`) on held-out files.

Issue #22 judges the NLU on sets from writers who never saw the training files, through the
router as the inbound handler calls it (each message with its customer's language known), on
three figures per language: macro-F1, the share answered wrongly with confidence >= 0.8, and
the dangerous reads: a problem, refund, delivery, person or STOP message read as praise, yes
or thanks (the bot would then ask that customer for a review). Files are named by their
language (`de.yml`, `nlu_test_de.yml`, English also `nlu_test.yml`); a folder means every
YAML file in it. Nothing here prints a held-out sentence: `errors()` is for the caller to ask.
"""
from __future__ import annotations

from bot.base.errors import AftercareError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from bot.i18n.catalogs import base_language, normalize_tag
from bot.nlu.base import FALLBACK_INTENT, Parser
from bot.nlu.evaluate import Evaluation, Example, evaluate, load_examples
from bot.nlu.hygiene import normalise

CONFIDENTLY = 0.8  # issue #22: a wrong intent at this confidence is acted on without asking
# a reply naming one of these must never be read as one of those (it would be asked for a review)
MUST_BE_HEARD = frozenset({"product_problem", "delivery_problem", "return_refund", "human", "opt_out"})
HAPPY_READS = frozenset({"works_well", "affirm", "thanks"})
# the targets on the sealed sets (English higher: its model has the most data)
TARGET_MACRO_F1 = {"en": 0.95}
DEFAULT_TARGET_MACRO_F1 = 0.90
TARGET_CONFIDENTLY_WRONG = 0.03          # strictly below
TARGET_DANGEROUS = 0
_SUFFIXES = (".yml", ".yaml")


class HeldOutFileError(AftercareError, ValueError):
    """A held-out path that cannot be scored; the message names the path and the problem."""


@dataclass(frozen=True)
class Dangerous:
    """A message that must be heard, read as a happy one."""

    example: Example
    predicted: str
    confidence: float


@dataclass
class LanguageScore:
    """One language's held-out file through the router."""

    language: str
    path: Path
    evaluation: Evaluation
    copies: frozenset[str]      # normalised held-out lines that are also training lines

    @property
    def examples(self) -> int:
        return len(self.evaluation.examples)

    @property
    def macro_f1(self) -> float:
        return self.evaluation.macro_f1

    @property
    def confidently_wrong(self) -> float:
        return self.evaluation.confident_errors(CONFIDENTLY)

    @property
    def dangerous(self) -> list[Dangerous]:
        ev = self.evaluation
        return [Dangerous(ex, pred, conf) for ex, pred, conf in zip(ev.examples, ev.predicted, ev.confidences)
                if ex.intent in MUST_BE_HEARD and pred in HAPPY_READS]

    @property
    def unseen(self) -> Evaluation:
        """The same run without the lines that are copies of training lines ("yes", "thanks"):
        what the model makes of wording it never saw."""
        ev = self.evaluation
        kept = [i for i, ex in enumerate(ev.examples) if normalise(ex.text) not in self.copies]
        return Evaluation([ev.examples[i] for i in kept], [ev.predicted[i] for i in kept],
                          [ev.predicted_entities[i] for i in kept], [ev.confidences[i] for i in kept])

    @property
    def target_macro_f1(self) -> float:
        return TARGET_MACRO_F1.get(self.language, DEFAULT_TARGET_MACRO_F1)

    def misses(self) -> list[str]:
        """Which of the issue's targets this language misses (empty: all met)."""
        found = []
        if self.macro_f1 < self.target_macro_f1:
            found.append(f"macro-F1 {self.macro_f1:.3f} < {self.target_macro_f1}")
        if self.confidently_wrong >= TARGET_CONFIDENTLY_WRONG:
            found.append(f"confidently wrong {self.confidently_wrong:.1%} >= {TARGET_CONFIDENTLY_WRONG:.0%}")
        if len(self.dangerous) > TARGET_DANGEROUS:
            found.append(f"{len(self.dangerous)} dangerous reads")
        return found

    def errors(self) -> list[tuple[Example, str, float]]:
        """Every wrong answer (held-out text: for development sets only, never a sealed one)."""
        ev = self.evaluation
        return [(ex, pred, conf) for ex, pred, conf in zip(ev.examples, ev.predicted, ev.confidences)
                if pred != ex.intent]

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (no held-out text)."""
        unseen = self.unseen
        return {
            "language": self.language, "file": str(self.path), "examples": self.examples,
            "accuracy": round(self.evaluation.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
            "confidently_wrong": round(self.confidently_wrong, 4),
            "confidently_wrong_count": round(self.confidently_wrong * self.examples),
            "dangerous_reads": len(self.dangerous),
            "dangerous_pairs": sorted(f"{d.example.intent}->{d.predicted}" for d in self.dangerous),
            "fallbacks": sum(p == FALLBACK_INTENT for p in self.evaluation.predicted),
            "copies_of_training": self.examples - len(unseen.examples),
            "unseen_examples": len(unseen.examples), "unseen_macro_f1": round(unseen.macro_f1, 4),
            "target_macro_f1": self.target_macro_f1, "misses": self.misses(),
            "per_intent_f1": {label: round(s.f1, 4) for label, s in self.evaluation.per_intent().items()},
        }


def language_of_file(path: Path, languages: Sequence[str]) -> str:
    """The trained language a held-out file is named for: `de.yml`, `nlu_test_de.yml`,
    `pt-BR.yml`, English also `nlu_test.yml`."""
    stem = path.name
    for suffix in _SUFFIXES:
        stem = stem.removesuffix(suffix)
    candidates = [stem, stem.rsplit("_", 1)[-1]]
    if stem == "nlu_test":
        candidates.append("en")
    for candidate in candidates:
        tag = normalize_tag(candidate)
        if tag and base_language(tag) in languages:
            return base_language(tag)
    raise HeldOutFileError(f"{path}: the file name names no trained language (expected <lang>.yml or "
                           f"nlu_test_<lang>.yml with <lang> one of {', '.join(languages)})")


def held_out_files(paths: Iterable[Path], languages: Sequence[str]) -> list[tuple[str, Path]]:
    """(language, file) for every path, a folder standing for its YAML files; in the order
    given, each file once."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
            if not inside:
                raise HeldOutFileError(f"{path}: no .yml file in this folder")
            found.extend((language_of_file(p, languages), p) for p in inside)
        elif path.is_file():
            found.append((language_of_file(path, languages), path))
        else:
            raise HeldOutFileError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def read_held_out(path: Path) -> list[Example]:
    """The labelled examples of one file, or a HeldOutFileError naming it."""
    try:
        examples = load_examples(path)
    except Exception as exc:  # noqa: BLE001 - Rasa's reader raises many kinds; the path is what matters
        raise HeldOutFileError(f"{path}: not a Rasa NLU YAML file ({exc})") from None
    if not examples:
        raise HeldOutFileError(f"{path}: no labelled examples")
    return examples


def score(parser: Parser, files: Sequence[tuple[str, Path]],
          training: Mapping[str, Iterable[str]] | None = None) -> list[LanguageScore]:
    """Every file through `parser.parse(text, language)`; `training` (language -> its training
    sentences) marks the held-out lines that are copies of training ones."""
    examples = {path: read_held_out(path) for _, path in files}   # every file read before any parse
    scores = []
    for language, path in files:
        seen = {normalise(text) for text in (training or {}).get(language, ())}
        copies = frozenset(key for key in (normalise(ex.text) for ex in examples[path]) if key in seen)
        scores.append(LanguageScore(language, path, evaluate(parser, examples[path], language), copies))
    return scores
