"""Each trained language's held-out set shares nothing with its training file (the same
hygiene as English, test_data_hygiene.py), covers every intent, and is a file of its own."""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import load_examples
from bot.nlu.hygiene import overlaps
from bot.nlu.rasa_nlu import load_nlu_settings
from tests.conftest import ROOT

SETTINGS = load_nlu_settings(ROOT / "config.yml")
OTHERS = [lang for lang in SETTINGS.languages if lang != "en"]


def test_the_shipped_config_trains_six_languages() -> None:
    assert SETTINGS.languages == ["en", "es", "pt", "de", "fr", "it"]


@pytest.mark.parametrize("language", OTHERS)
def test_held_out_shares_nothing_with_training(language: str) -> None:
    training_file, held_out_file = SETTINGS.language_files[language]
    training = [ex.text for ex in load_examples(training_file)]
    held_out = [ex.text for ex in load_examples(held_out_file)]
    found = overlaps(held_out, training)
    assert not found, "\n".join(f"{o.similarity:.2f} {o.held_out!r} ~ {o.training!r}" for o in found)


@pytest.mark.parametrize("language", OTHERS)
def test_every_intent_is_trained_and_held_out(language: str) -> None:
    training_file, held_out_file = SETTINGS.language_files[language]
    # out_of_scope: internal (greetings, off-topic, gibberish), answered as nlu_fallback, never held out
    trained = {ex.intent for ex in load_examples(training_file)} - {"out_of_scope"}
    held = [ex.intent for ex in load_examples(held_out_file)]
    assert len(trained) == 12 and set(held) == trained
    assert min(held.count(intent) for intent in trained) >= 5
