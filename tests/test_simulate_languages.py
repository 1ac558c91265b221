"""`simulate` in each language with the real models (one per language, behind the router):
happy path, a low score with the problem described in the language, not used yet, STOP in
the language's own words, and a switch of language mid-way. Japanese has no model: its flows
are Japanese and free text is never guessed at."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config.loading import load_settings
from bot.flowfiles import load_catalogs
from bot.nlu.languages import LanguageRouter, load_parser
from bot.sandbox.simulate import simulate_file

pytestmark = pytest.mark.nlu

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = load_catalogs(ROOT / "dialogs")
CSAT_Q = "How is {product.name} working for you? Tap 1 (not good) to 5 (great)."
TRIAGE_Q = "I'm sorry to hear that. What went wrong?"
NOT_YET = "No rush! I'll check back in {checkback_days} days."
OPT_OUT = "Done: you won't get any more messages from us. If you change your mind, send /start."

# language -> (yes, a broken product, not used yet, STOP in its own words)
PHRASES = {
    "es": ("claro", "llegó roto, la pantalla está rota", "todavía no lo he usado", "parar"),
    "pt": ("sim, claro", "chegou partido, o ecrã está rachado", "ainda não usei", "pare"),
    "de": ("gerne", "ist kaputt angekommen, das Display ist gesprungen", "habe es noch nicht benutzt", "stopp"),
    "fr": ("volontiers", "il est arrivé cassé, l'écran est fissuré", "je ne l'ai pas encore utilisé", "arrête"),
    "it": ("certo", "è arrivato rotto, lo schermo è crepato", "non l'ho ancora usato", "basta"),
}


@pytest.fixture(scope="module")
def router(nlu_settings):
    parser = load_parser(nlu_settings)
    assert isinstance(parser, LanguageRouter)
    yield parser
    parser.close()


def write(tmp_path: Path, language: str, body: str) -> Path:
    path = tmp_path / f"{language}.yml"
    path.write_text(f"channel: telegram\ncustomer: {{name: Ana Silva, language: {language}}}\n"
                    "order: {order_id: A-1001, product: Trail Runner 2 shoes, sku: TR2-44, category: footwear, "
                    "delivered_days_ago: 4}\n" + textwrap.dedent(body), encoding="utf-8")
    return path


async def play(path: Path, parser) -> tuple[dict, list[str]]:
    result = await simulate_file(path, load_settings(ROOT / "config.yml"), parser)
    return result["outcome"], [e["text"] for e in result["transcript"] if e["from"] == "bot"]


def said(template: str, language: str, **values: str) -> str:
    text = CATALOGS.translate(template, language)
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize("language", PHRASES)
async def test_happy_path(tmp_path, router, language):
    yes = PHRASES[language][0]
    outcome, texts = await play(write(tmp_path, language, f"""
        turns:
          - press: "5"
          - say: "{yes}"
        """), router)
    assert said(CSAT_Q, language, **{"product.name": "Trail Runner 2 shoes"}) in texts
    assert outcome["csat"] == 5 and outcome["review_requested"] and not outcome["upsell_offered"]   # one ask
    assert not outcome["escalated"]


@pytest.mark.parametrize("language", PHRASES)
async def test_low_score_with_the_problem_in_the_language(tmp_path, router, language):
    problem = PHRASES[language][1]
    outcome, texts = await play(write(tmp_path, language, f"""
        turns:
          - press: "2"
          - say: "{problem}"
        """), router)
    assert said(TRIAGE_Q, language) in texts
    assert outcome["escalated"] and outcome["escalation_reason"] == "product_problem"
    assert outcome["csat"] == 2


@pytest.mark.parametrize("language", PHRASES)
async def test_not_used_yet(tmp_path, router, language):
    outcome, texts = await play(write(tmp_path, language, f"""
        turns:
          - say: "{PHRASES[language][2]}"
        """), router)
    assert outcome["rescheduled"] and outcome["csat"] is None
    assert said(NOT_YET, language, checkback_days="7") in texts


@pytest.mark.parametrize("language", [*PHRASES, "ja"])
async def test_stop_in_the_languages_own_words(tmp_path, router, language):
    stop = PHRASES[language][3] if language in PHRASES else "停止"
    outcome, texts = await play(write(tmp_path, language, f"""
        turns:
          - say: "{stop}"
        """), router)
    assert outcome["opted_out"]
    assert texts[-1] == said(OPT_OUT, language)


@pytest.mark.parametrize("language", PHRASES)
async def test_switching_language_mid_way(tmp_path, router, language):
    outcome, texts = await play(write(tmp_path, language, """
        turns:
          - say: "English"
          - press: "4"
        """), router)
    assert said(CSAT_Q, language, **{"product.name": "Trail Runner 2 shoes"}) in texts
    assert "Done: I'll write to you in English from now on." in texts
    assert texts[-1].startswith("So glad to hear it! Would you leave a short review?")
    assert outcome["csat"] == 4


# language -> (a request for another language in its own words, that language)
ANOTHER = {
    "es": ("en alemán, por favor", "de"), "pt": ("em francês, por favor", "fr"), "de": ("auf Italienisch bitte", "it"),
    "fr": ("en espagnol s'il vous plaît", "es"), "it": ("in portoghese per favore", "pt"),
}
REVIEW_Q = "So glad to hear it! Would you leave a short review? It really helps other shoppers."


@pytest.mark.parametrize("language", ANOTHER)
async def test_asking_for_another_language_in_a_sentence_mid_way(tmp_path, router, language):
    request, other = ANOTHER[language]
    outcome, texts = await play(write(tmp_path, language, f"""
        turns:
          - say: "{request}"
          - press: "4"
        """), router)
    assert said(CSAT_Q, language, **{"product.name": "Trail Runner 2 shoes"}) in texts
    assert said("Done: I'll write to you in English from now on.", other) in texts
    assert texts[-1] == said(REVIEW_Q, other) and outcome["csat"] == 4
    assert not outcome["escalated"]


async def test_a_low_score_in_japanese_reaches_a_person_for_the_score_not_a_guess(tmp_path, router):
    """No model reads Japanese: the case is opened for the low score itself when the answer
    names no problem the cue words know, and the customer is thanked in Japanese."""
    outcome, texts = await play(write(tmp_path, "ja", """
        turns:
          - press: "2"
          - say: "ちょっと期待と違いました"
        """), router)
    assert said(TRIAGE_Q, "ja") in texts
    assert texts[-1] == said("Thank you, and sorry it's not right. I've passed this to our support team; "
                             "a person will reply here shortly.", "ja")
    assert outcome["escalated"] and outcome["escalation_reason"] == "low_score" and outcome["csat"] == 2


async def test_a_japanese_problem_named_after_a_low_score_keeps_its_reason(tmp_path, router):
    """A problem the cue words know ("割れて": arrived cracked) is the escalation's reason, not
    `low_score` (CONVERSATION.md: the triage answer's problem becomes the reason)."""
    outcome, texts = await play(write(tmp_path, "ja", """
        turns:
          - press: "2"
          - say: "画面が割れて届きました"
        """), router)
    assert said(TRIAGE_Q, "ja") in texts
    assert texts[-1] == said("Thank you for telling me, and sorry about this. I've passed it to our support "
                             "team; a person will reply here shortly.", "ja")
    assert outcome["escalated"] and outcome["escalation_reason"] == "product_problem" and outcome["csat"] == 2


async def test_japanese_flows_are_japanese_and_free_text_is_never_guessed(tmp_path, router):
    outcome, texts = await play(write(tmp_path, "ja", """
        turns:
          - say: "使ってみた感想ですか"
          - press: "5"
        """), router)
    assert said(CSAT_Q, "ja", **{"product.name": "Trail Runner 2 shoes"}) in texts
    assert any("ボタンをタップしてください" in t for t in texts)        # tap a button, STOP, a person
    assert not outcome["escalated"] and outcome["csat"] == 5
