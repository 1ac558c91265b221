"""The lexical detectors beside the intent model (bot/nlu/cues.py) and the one function that
says whether a reply names a problem (bot/nlu/base.py `problem_reason`). Sentences written here
from the intent definitions, never taken from the held-out sets."""
from __future__ import annotations

import pytest

from bot.nlu.base import Entity, Parse, problem_reason, problem_type
from bot.nlu.cues import GENERAL, has_negation, is_question, problem_cue, read_cues, with_cues

PROBLEMS = [
    ("en", "the handle snapped off on day two", "damaged"),
    ("en", "the pan rusted after the first wash", "damaged"),
    ("en", "4 stars but the box was crushed", "damaged"),
    ("en", "stitching came undone after two runs", "defective"),
    ("en", "the battery is dead already", "defective"),
    ("en", "comfy but a bit too small", "size_fit"),
    ("en", "there's a problem with the lid", GENERAL),
    ("en", 'really "waterproof", great job', "not_as_described"),
    ("en", "so much for shockproof, well done", "not_as_described"),
    ("es", "las zapatillas se despegaron a la semana", "defective"),
    ("es", "la sartén se oxidó enseguida", "damaged"),
    ("es", "no es como en las fotos", "not_as_described"),
    ("pt", "chegaram sem o carregador", "missing_part"),
    ("pt", "a frigideira enferrujou", "damaged"),
    ("de", "das Display ist nach zwei Tagen ausgefallen", "defective"),
    ("de", "die Pfanne rostet schon", "damaged"),
    ("de", "„wasserdicht“, super gemacht", "not_as_described"),
    ("fr", "la semelle s'est décollée", "defective"),
    ("fr", "« étanche », bravo", "not_as_described"),
    ("it", "la padella si è arrugginita", "damaged"),
    ("it", "la suola si è staccata dopo tre giorni", "damaged"),
    ("ja", "靴底が壊れていました", "damaged"),
]
PRAISE = [
    "works great, no scratches at all", "arrived on time, nothing broken", "exactly like the photos",
    "it's dead easy to use", "they fit perfectly", "love it!", "sure, no problem",
    "como en las fotos, perfecto", "lo probé esta tarde y va genial", "funciona perfectamente, sin ningún fallo",
    "igual à foto, adorei", "Super, alles bestens, keine Kratzer", "très bien, aucun problème",
    "c'erano tutti i pezzi, perfetto", "nessun problema, funziona benissimo", "non l'ho ancora usato",
]


@pytest.mark.parametrize("language,text,kind", PROBLEMS)
def test_a_problem_in_words_is_found_whatever_the_language(language, text, kind):
    assert problem_cue(text) == kind


@pytest.mark.parametrize("text", PRAISE)
def test_praise_and_negated_problems_are_not_problems(text):
    assert problem_cue(text) is None


@pytest.mark.parametrize("text", ["why should I?", "do I have to", "¿por qué debería?", "warum sollte ich?",
                                  "pourquoi je devrais", "perché dovrei", "porque é que devia"])
def test_questions(text):
    assert is_question(text)


@pytest.mark.parametrize("text,negated", [("yes please", False), ("sure, no problem", False), ("why not", False),
                                          ("not now", True), ("no thanks", True), ("nein danke", True),
                                          ("claro que sí", False), ("non merci", True)])
def test_negation_leaves_the_stock_polite_phrases_alone(text, negated):
    assert has_negation(text) is negated


def test_read_cues_is_all_three():
    cues = read_cues("yes, but why? the strap broke")
    assert (cues.problem, cues.negation, cues.question) == ("damaged", False, True)


# ---- problem_reason: the one answer to "does this reply name a problem?" -------------------

def test_a_problem_intent_names_its_reason():
    assert problem_reason(with_cues(Parse("meh", "delivery_problem", 0.7))) == "delivery_problem"
    assert problem_reason(with_cues(Parse("meh", "delivery_problem", 0.7)), min_confidence=0.8) is None


def test_a_problem_type_entity_or_a_cue_names_one_whatever_the_intent():
    assert problem_reason(with_cues(Parse("so-so", "works_well", 0.99, (Entity("problem_type", "late"),)))) == "delivery_problem"
    praise = with_cues(Parse("la padella si è arrugginita", "works_well", 0.999))
    assert problem_reason(praise) == "product_problem" and problem_type(praise) == "damaged"
    assert problem_reason(with_cues(Parse("there's a problem with it", "thanks", 0.9))) == "product_problem"
    assert problem_type(with_cues(Parse("there's a problem with it", "thanks", 0.9))) is None


def test_praise_names_none_and_late_beside_not_used_yet_is_not_a_problem():
    assert problem_reason(with_cues(Parse("love them!", "works_well", 0.99))) is None
    assert problem_reason(with_cues(Parse("still waiting to try them", "not_used_yet", 0.9))) is None
    assert problem_reason(None) is None
