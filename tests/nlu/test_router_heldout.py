"""Issue #22: the parser the bot runs (`LanguageRouter.parse(text, language)`) on the
independent held-out sets (data/heldout/: a writer who saw only the intent definitions and a
product list, never data/), against the floors this file names. They replace the floors that
scored each model alone on the in-house sets, which share the training data's hands.

The floors are what the router honestly reaches on these development sets (measured with
`aftercare nlu evaluate --router data/heldout`, README "Held-out sets"); the issue's targets
are for the sealed sets: macro-F1 >= 0.95 en, >= 0.90 else, confidently wrong < 3 %, no
dangerous read. Nothing was tuned by reading these sets' misses."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.nlu.evaluate import load_examples
from bot.nlu.router_eval import held_out_files, score

pytestmark = pytest.mark.nlu

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["en", "es", "pt", "de", "fr", "it"]
# Measured on the dev sets with the ten independent writers' training lines, out_of_scope and 10
# DIET epochs (branch lead-nlu24, `aftercare nlu evaluate --router data/heldout`): macro-F1 en 0.953,
# es 0.948, pt 0.923, de 0.935, fr 0.926, it 0.924; wrong at >= 0.8 2.4 / 2.4 / 3.6 / 2.4 / 2.4 /
# 1.2 %; dangerous 0/0/1/0/0/0. Floors are those minus ~0.02 (one or two of 84 lines: a model
# trained on another machine may differ slightly), ceilings plus one line. Before: eight writers
# (h24nlu) 0.927 / 0.935 / 0.908 / 0.950 / 0.938 / 0.916; six writers at 20 epochs (h22nlu)
# 0.924 / 0.924 / 0.903 / 0.937 / 0.920 / 0.924; 7dc33a9, whose training held 16-24 copies of
# these lines: 0.935 / 0.872 / 0.862 / 0.854 / 0.893 / 0.884.
FLOOR_MACRO_F1 = {"en": 0.93, "es": 0.93, "pt": 0.90, "de": 0.91, "fr": 0.90, "it": 0.90}
MAX_CONFIDENTLY_WRONG = {"en": 0.036, "es": 0.036, "pt": 0.048, "de": 0.036, "fr": 0.036, "it": 0.024}
MAX_DANGEROUS = {"en": 0, "es": 0, "pt": 1, "de": 0, "fr": 0, "it": 0}


@pytest.fixture(scope="module")
def scores(language_router, nlu_settings) -> dict:
    files = held_out_files([ROOT / "data" / "heldout"], nlu_settings.languages)
    training = {lang: [ex.text for ex in load_examples(data)] for lang, (data, _) in nlu_settings.language_files.items()}
    return {one.language: one for one in score(language_router, files, training)}


def test_every_language_the_bot_loads_has_its_floors(nlu_settings) -> None:
    """A language added to config.yml's `nlu:` gets no pass: it needs its held-out set and floors here."""
    assert sorted(LANGUAGES) == sorted(nlu_settings.languages)
    for table in (FLOOR_MACRO_F1, MAX_CONFIDENTLY_WRONG, MAX_DANGEROUS):
        assert sorted(table) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_an_independent_set_of_the_issues_size(language: str) -> None:
    examples = load_examples(ROOT / "data" / "heldout" / f"nlu_test_{language}.yml")
    per_intent = Counter(ex.intent for ex in examples)
    assert len(examples) >= 60 and len(per_intent) == 12 and min(per_intent.values()) >= 5, per_intent


@pytest.mark.parametrize("language", LANGUAGES)
def test_router_macro_f1_floor(scores, language: str) -> None:
    one = scores[language]
    assert one.macro_f1 >= FLOOR_MACRO_F1[language], \
        f"[{language}] macro-F1 {one.macro_f1:.3f} < {FLOOR_MACRO_F1[language]}: {one.evaluation.confused_pairs(5)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_router_confidently_wrong_ceiling(scores, language: str) -> None:
    one = scores[language]
    assert one.confidently_wrong <= MAX_CONFIDENTLY_WRONG[language], \
        f"[{language}] {one.confidently_wrong:.1%} wrong at >= 0.8: {one.evaluation.confused_pairs(5)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_router_dangerous_reads(scores, language: str) -> None:
    found = scores[language].dangerous
    assert len(found) <= MAX_DANGEROUS[language], \
        f"[{language}] {[(d.example.intent, d.predicted, round(d.confidence, 2)) for d in found]}"
