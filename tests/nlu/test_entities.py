"""Entity values reach the engine as canonical strings, once each (no model needed)."""
from __future__ import annotations

import pytest

from bot.nlu.base import Entity
from bot.nlu.rasa_nlu import MAX_CHARS, _entities, clean_text, problem_type_of, rating_of


def test_duplicates_are_dropped_and_order_kept() -> None:
    raw = [{"entity": "problem_type", "value": "damaged"},
           {"entity": "rating", "value": "4"},
           {"entity": "problem_type", "value": "damaged"}]
    assert _entities(raw) == (Entity("problem_type", "damaged"), Entity("rating", "4"))


def test_unseen_problem_spans_are_mapped_or_dropped() -> None:
    raw = [{"entity": "problem_type", "value": "the kettle"},
           {"entity": "problem_type", "value": "Defective"},
           {"entity": "problem_type", "value": "big dent"}]
    assert _entities(raw) == (Entity("problem_type", "defective"),
                              Entity("problem_type", "damaged"))


@pytest.mark.parametrize("text,kind", [
    ("the sole came off after a week", "defective"), ("screen is cracked", "damaged"),
    ("no charger in the box", "missing_part"), ("you sent the wrong colour", "wrong_item"),
    ("looks nothing like the photos", "not_as_described"), ("way too tight", "size_fit"),
    ("it never arrived", "not_received"), ("a week late already", "late"),
    ("love it", None),
])
def test_problem_cues(text: str, kind: str | None) -> None:
    assert problem_type_of(text) == kind


@pytest.mark.parametrize("text,score", [
    ("I'd give it a 4", "4"), ("5/5", "5"), ("honestly 7 out of 10", "7"), ("three stars", "3"),
    ("8", "8"), ("i'd rate it a solid nine", "9"), ("it broke after 3 days", None),
    ("is it ok for a 4 year old?", None), ("I'd give it a week", None),
])
def test_rating_cues(text: str, score: str | None) -> None:
    assert rating_of(text) == score


def test_ratings_become_digits() -> None:
    raw = [{"entity": "rating", "value": "four"}, {"entity": "rating", "value": "9/10"},
           {"entity": "rating", "value": "stars"}, {"entity": "rating", "value": 3}]
    assert _entities(raw) == (Entity("rating", "4"), Entity("rating", "9"),
                              Entity("rating", "3"))


def test_clean_trims_cuts_and_drops_control_characters() -> None:
    assert clean_text("  hello\x00\tthere \n") == "hello there"
    assert clean_text("") == ""
    assert len(clean_text("a" * 10_000)) == MAX_CHARS


@pytest.mark.parametrize("text,kind", [
    ("la lámpara llegó rota", "damaged"), ("el cargador no funciona", "defective"),
    ("faltan dos tornillos", "missing_part"), ("me enviaron otro modelo", "wrong_item"),
    ("no se parece nada a la foto", "not_as_described"), ("me quedan pequeñas", "size_fit"),
    ("nunca me llegó", "not_received"), ("el envio va con retraso", "late"),
    ("o ecrã veio rachado", "damaged"), ("o portatil nao liga", "defective"),
    ("faltou o carregador", "missing_part"), ("veio a cor errada", "wrong_item"),
    ("nada a ver com as fotos do site", "not_as_described"), ("ficou apertado", "size_fit"),
    ("não recebi nada", "not_received"), ("está retido na alfândega", "late"),
    ("me encanta", None), ("adorei", None),
])
def test_problem_cues_in_spanish_and_portuguese(text: str, kind: str | None) -> None:
    # cue words per language: bot/nlu/cue_words.py; typed without accents they match too
    assert problem_type_of(text) == kind


@pytest.mark.parametrize("text,score", [
    ("le daría un siete", "7"), ("ocho de diez", "8"), ("tres estrellas", "3"),
    ("dou nota nove", "9"), ("dez em dez", "10"), ("duas estrelas, fraco", "2"),
    ("dou-lhe um três", "3"), ("le doy un mes más", None), ("un amigo me lo regaló", None),
])
def test_rating_cues_in_spanish_and_portuguese(text: str, score: str | None) -> None:
    assert rating_of(text) == score


def test_number_words_of_every_language_become_digits() -> None:
    raw = [{"entity": "rating", "value": word} for word in ("ocho", "três", "tres", "neun", "dix", "sette")]
    assert [e.value for e in _entities(raw)] == ["8", "3", "9", "10", "7"]
