"""Every other language's held-out set through its own model (one model per language,
bot/nlu/languages.py), against the floor this test names; the router sends each language's
sentences to its own model."""
from __future__ import annotations

import pytest

from bot.nlu.evaluate import evaluate, load_examples
from bot.nlu.languages import LanguageRouter, load_parser

pytestmark = pytest.mark.nlu

# Issue #17 asks 0.90 per language. A language whose held-out figure reached it keeps 0.90 as
# its floor; the others keep a floor just under their measured figure, which must not slip while
# their data grows (the README quotes each figure). French measured 0.893 on its 129 held-out
# sentences (60 of them added after it had passed 0.90 on the first 69).
FLOOR_MACRO_F1 = {"es": 0.75, "pt": 0.75, "de": 0.90, "fr": 0.88, "it": 0.90}
MAX_CONFIDENT_WRONG = 0.10


@pytest.fixture(scope="module")
def router(nlu_settings) -> LanguageRouter:
    parser = load_parser(nlu_settings)
    assert isinstance(parser, LanguageRouter)
    yield parser
    parser.close()


@pytest.mark.parametrize("language", ["es", "pt", "de", "fr", "it"])
def test_macro_f1_per_language(router, nlu_settings, language) -> None:
    result = evaluate(router.for_language(language), load_examples(nlu_settings.test_files[language]))
    assert result.macro_f1 >= FLOOR_MACRO_F1[language], f"[{language}] macro-F1 {result.macro_f1:.3f}: {result.confused_pairs(5)}"
    assert result.confident_errors() <= MAX_CONFIDENT_WRONG


@pytest.mark.parametrize("language", ["es", "pt", "de", "fr", "it"])
def test_the_router_reads_each_language_with_its_own_model(router, nlu_settings, language) -> None:
    examples = load_examples(nlu_settings.test_files[language])
    routed = [router.language_of(ex.text) for ex in examples]
    assert routed.count(language) / len(routed) >= 0.8, routed


def test_text_no_model_knows_falls_back(router) -> None:
    assert router.parse("届いたら割れていました").intent == "nlu_fallback"
