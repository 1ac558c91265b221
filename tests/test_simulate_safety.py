"""The safety policy end to end (shared/CONVERSATION.md, "Safety: problems first, asks only on a
clean yes"): every scenario of tests/scenarios/safety/ played by `simulate` with the REAL models
(one per language, behind the router) on the loopback Telegram, its outcome asserted.

The scenarios are the failures quoted in issue #22, each in its language, and each rule in every
shipped language (Japanese, which has no model, through its buttons and its STOP/person words):
problems first, a score in words beside a problem, asks only on a clean yes, one ask per
conversation, a waiting customer answered, and the help menu."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config.loading import load_settings
from bot.flowfiles import load_catalogs
from bot.nlu.languages import LanguageRouter, load_parser
from bot.sandbox.simulate import simulate_file

pytestmark = pytest.mark.nlu

ROOT = Path(__file__).resolve().parents[1]
SAFETY = ROOT / "tests" / "scenarios" / "safety"
CATALOGS = load_catalogs(ROOT / "dialogs")
LANGUAGES = ("en", "es", "pt", "de", "fr", "it", "ja")
SHOP = "https://shop.example/"          # every ask that carries a link: review, upsell, refill, referral

CSAT_Q = "How is {product.name} working for you? Tap 1 (not good) to 5 (great)."
RESCORE = "Thanks for telling me! To keep track, how would you score it?"
TRIAGE_Q = "I'm sorry to hear that. What went wrong?"
BETTER_Q = "Thanks! What could we do better?"
LOOK_Q = "Thanks for the score, and sorry about that. Would you like a person from our team to look into it?"
REVIEW_Q = "So glad to hear it! Would you leave a short review? It really helps other shoppers."
AGAIN_Q = "Just to be sure: would you like the link to leave a short review?"
GOODBYE = "No problem at all. Thanks again, and enjoy {product.name}!"
ACK = "Thanks, I've added that to your case; our support team will reply here."
MENU = "I'm the shop's follow-up assistant. How can I help?"
INVITE = ("Would you tell me in one sentence what you like about us? We may share it with other shoppers, "
          "with your first name only.")
OPT_OUT = "Done: you won't get any more messages from us. If you change your mind, send /start."


@pytest.fixture(scope="module")
def router(nlu_settings):
    parser = load_parser(nlu_settings)
    assert isinstance(parser, LanguageRouter)
    yield parser
    parser.close()


async def play(name: str, parser) -> dict[str, Any]:
    return await simulate_file(SAFETY / f"{name}.yml", load_settings(ROOT / "config.yml"), parser)


def said(template: str, language: str, product: str = "Trail Runner 2 shoes") -> str:
    return CATALOGS.translate(template, language).replace("{product.name}", product)


def bot(result: dict) -> list[str]:
    return [e["text"] for e in result["transcript"] if e["from"] == "bot"]


def links(result: dict) -> list[str]:
    return [text for text in bot(result) if SHOP in text]


def thread(result: dict) -> str:
    return "\n".join(post["text"] for post in result["support_channel"])


def test_every_safety_scenario_is_asserted():
    names = {path.stem for path in SAFETY.glob("*.yml")}
    rules = {f"{lang}_{rule}" for lang in LANGUAGES
             for rule in ("problem_first", "clean_yes", "one_ask", "waiting_customer", "help_menu")}
    rules |= {f"{lang}_score_with_problem" for lang in LANGUAGES if lang != "ja"}
    assert names == rules | set(QUOTED) | {"ja_stop_words"}


# ---- the failures quoted in issue #22 --------------------------------------------------------

def _defect_then_anyone_there(result: dict) -> None:
    outcome = result["outcome"]
    assert outcome["escalated"] and outcome["escalation_reason"] == "product_problem" and outcome["csat"] is None
    assert bot(result).count(said(CSAT_Q, "en")) == 1 and RESCORE not in bot(result)
    assert bot(result).count(ACK) == 1                      # "is anyone there?" is answered
    assert "is anyone there?" in thread(result)


def _stars_but_box_crushed(result: dict) -> None:
    outcome = result["outcome"]
    assert outcome["csat"] == 4 and not outcome["review_requested"] and not links(result)
    assert bot(result)[-1] == LOOK_Q


def _why_should_i(result: dict) -> None:
    outcome = result["outcome"]
    assert outcome["csat"] == 5 and not links(result) and not outcome["referral_asked"]
    assert bot(result)[-2:] == [AGAIN_Q, said(GOODBYE, "en")] and INVITE not in bot(result)


def _escalated(language: str, product: str = "Trail Runner 2 shoes", csat: Any = None, problem_type: Any = "any",
               card: bool = False):
    """The case opened at once with the problem's reason, nothing asked after it; `card`: the
    console desk's card (the quoted failures play on the console) shows the problem type and score."""
    def check(result: dict) -> None:
        outcome = result["outcome"]
        assert outcome["escalated"] and outcome["escalation_reason"] == "product_problem", outcome
        assert outcome["csat"] == csat and not links(result)
        for question in (RESCORE, TRIAGE_Q, BETTER_Q, "Sorry, I didn't catch that."):
            assert said(question, language, product) not in bot(result)
        if problem_type != "any":
            assert f"product_problem / {problem_type}" in thread(result)
        if card:
            assert f"Scores: {f'CSAT {csat}' if csat is not None else 'none'}" in thread(result)
    return check


def _de_defect_then_danke(result: dict) -> None:
    _escalated("de", "Noise-Cancelling Headphones")(result)
    assert said(ACK, "de") in bot(result) and "danke" in thread(result)


def _help_words(result: dict) -> None:
    assert bot(result).count(MENU) == 2 and not result["outcome"]["escalated"]
    menu = next(e for e in result["transcript"] if e["text"] == MENU)
    assert menu["buttons"] == ["Talk to a person", "Stop messages", "How to use it"]
    assert bot(result)[-1].startswith("Here's what usually helps: Clean them with a soft brush")


QUOTED = {
    "en_defect_then_anyone_there": _defect_then_anyone_there,
    "en_stars_but_box_crushed": _stars_but_box_crushed,
    "en_why_should_i": _why_should_i,
    "it_pan_rusted": _escalated("it", "Cast-iron pan", problem_type="damaged", card=True),
    "it_three_pan_rusted": _escalated("it", "Cast-iron pan", csat=3, card=True),
    "es_soles_came_unglued": _escalated("es", card=True),
    "pt_no_charger_nota_2": _escalated("pt", "Noise-Cancelling Headphones", csat=2, problem_type="missing_part",
                                       card=True),
    "de_defect_then_danke": _de_defect_then_danke,
    "en_three_pan_rusted": _escalated("en", "Cast-iron pan", csat=3, card=True),
    "en_help_words": _help_words,
    **{f"{lang}_sarcasm_waterproof": _escalated(lang, problem_type="not_as_described", card=True)
       for lang in ("en", "es", "pt", "fr", "it")},
}


@pytest.mark.parametrize("name", sorted(QUOTED))
async def test_quoted_failure(router, name):
    QUOTED[name](await play(name, router))


# ---- each rule in every language -------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_problem_in_praise_words_escalates_at_once(router, language):
    _escalated(language)(await play(f"{language}_problem_first", router))


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "ja"])
async def test_a_score_in_words_beside_a_problem_is_kept_and_escalates(router, language):
    _escalated(language, csat=2)(await play(f"{language}_score_with_problem", router))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_only_a_clean_yes_sends_the_review_link(router, language):
    result = await play(f"{language}_clean_yes", router)
    texts = bot(result)
    if language != "ja":
        assert not links(result) and not result["outcome"]["referral_asked"]
    assert said(REVIEW_Q, language) in texts and said(AGAIN_Q, language) in texts
    again = next(e for e in result["transcript"] if e["text"] == said(AGAIN_Q, language))
    assert len(again["buttons"]) == 2
    if language == "ja":                # no model: the button is the clean yes
        assert len(links(result)) == 1 and texts[-1] == links(result)[0]
    else:
        assert not links(result) and texts[-1] == said(GOODBYE, language)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_one_ask_per_conversation(router, language):
    result = await play(f"{language}_one_ask", router)
    outcome = result["outcome"]
    assert outcome["review_requested"] and not outcome["upsell_offered"] and not outcome["referral_asked"]
    assert links(result) == [bot(result)[-1]] and "/review" in links(result)[0]
    assert said(INVITE, language) not in bot(result)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_waiting_customer_is_answered_at_most_every_ten_minutes(router, language):
    result = await play(f"{language}_waiting_customer", router)
    outcome = result["outcome"]
    assert outcome["escalated"] and outcome["escalation_status"] == "open"
    assert bot(result).count(said(ACK, language)) == 2       # t=0 and t=13m; not at t=2m
    customer = [e["text"] for e in result["transcript"] if e["from"] == "customer"][1:]
    assert len(customer) == 3 and all(text in thread(result) for text in customer)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_help_gets_the_menu_and_its_person_button_escalates(router, language):
    result = await play(f"{language}_help_menu", router)
    menu = next(e for e in result["transcript"] if e["text"] == said(MENU, language))
    assert menu["buttons"] == [said(label, language) for label in ("Talk to a person", "Stop messages",
                                                                   "How to use it")]
    outcome = result["outcome"]
    assert outcome["escalated"] and outcome["escalation_reason"] == "human" and not outcome["opted_out"]


async def test_japanese_stop_words_at_the_rating_question(router):
    result = await play("ja_stop_words", router)
    assert result["outcome"]["opted_out"]
    assert bot(result)[-1] == said(OPT_OUT, "ja")
