"""The router sends each language's sentences to its own model (one model per language,
bot/nlu/languages.py). How well it reads them is tests/nlu/test_router_heldout.py's job, on
the independent held-out sets (issue #22)."""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import load_examples
from bot.nlu.languages import LanguageRouter

pytestmark = pytest.mark.nlu


@pytest.fixture(scope="module")
def router(language_router) -> LanguageRouter:
    return language_router


@pytest.mark.parametrize("language", ["es", "pt", "de", "fr", "it"])
def test_the_router_reads_each_language_with_its_own_model(router, nlu_settings, language) -> None:
    examples = load_examples(nlu_settings.test_files[language])
    routed = [router.language_of(ex.text) for ex in examples]
    assert routed.count(language) / len(routed) >= 0.8, routed


def test_text_no_model_knows_falls_back(router) -> None:
    assert router.parse("届いたら割れていました").intent == "nlu_fallback"


@pytest.mark.parametrize("language", ["es", "pt", "de", "fr", "it"])
def test_a_known_language_is_read_without_guessing(router, nlu_settings, language, monkeypatch) -> None:
    """The customer's language decides after a word lookup; scoring every model is for
    messages clearly in another language only (what keeps the routed parse cheap)."""
    guesses = []
    monkeypatch.setattr(router, "language_of", lambda text: guesses.append(text) or "en")
    examples = [ex.text for ex in load_examples(nlu_settings.test_files[language])]
    read = [router.reading_language(text, language) for text in examples]
    assert read.count(language) / len(read) >= 0.95, [t for t, r in zip(examples, read) if r != language]
    assert len(guesses) <= 0.05 * len(examples)
    assert router.reading_language("5", language) == language   # no words at all: theirs, not English
    assert router.reading_language("5", f"{language}-XX") == language   # a regional tag reads as its base


def test_a_customer_writing_another_language_is_still_understood(router) -> None:
    assert router.reading_language("the screen is broken", "de") == "en"
    assert router.reading_language("chegou partido, o ecrã está rachado", "de") == "pt"
    assert router.parse("the screen is broken, I want a refund", "de").intent != "nlu_fallback"


def test_a_language_without_a_model_is_guessed_or_falls_back(router) -> None:
    assert router.reading_language("ist kaputt angekommen, das Display ist gesprungen", "ja") == "de"
    assert router.parse("届いたら割れていました", "ja").intent == "nlu_fallback"
