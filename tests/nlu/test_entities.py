"""Entity values reach the engine as canonical strings, once each (no model needed)."""
from __future__ import annotations

import pytest

from bot.nlu.base import Entity
from bot.nlu.rasa_nlu import MAX_CHARS, _entities, asked_for, clean_text, problem_type_of, rating_of


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


@pytest.mark.parametrize("text,kind", [
    ("die Lampe kam kaputt an", "damaged"), ("der Föhn geht nicht mehr", "defective"),
    ("im Karton fehlt das Netzteil", "missing_part"), ("Schwarz bestellt und Weiß bekommen", "wrong_item"),
    ("sieht ganz anders aus als auf den Fotos", "not_as_described"), ("die Schuhe sind zu groß", "size_fit"),
    ("nie angekommen", "not_received"), ("das Paket ist verspätet", "late"),
    ("vor zwei Wochen bestellt und nichts bekommen", "not_received"),
    ("l'écran est fissuré", "damaged"), ("la box ne s'allume plus", "defective"),
    ("il manque la notice", "missing_part"), ("j'ai reçu un autre modèle", "wrong_item"),
    ("rien à voir avec les photos", "not_as_described"), ("trop petites pour moi", "size_fit"),
    ("jamais reçu", "not_received"), ("le colis est bloqué en douane", "late"),
    ("lo schermo è rotto", "damaged"), ("la radio non si accende", "defective"),
    ("mancano le viti", "missing_part"), ("articolo sbagliato", "wrong_item"),
    ("diverso dalla foto", "not_as_described"), ("le scarpe sono troppo strette", "size_fit"),
    ("mai arrivato", "not_received"), ("la consegna è in ritardo", "late"),
    ("ich liebe es", None), ("j'adore", None), ("lo adoro", None),
])
def test_problem_cues_in_german_french_and_italian(text: str, kind: str | None) -> None:
    # cue words per language: bot/nlu/cue_words.py; typed without accents they match too
    assert problem_type_of(text) == kind
    assert problem_type_of(text.replace("ö", "o").replace("é", "e").replace("ç", "c").replace("à", "a")) == kind


@pytest.mark.parametrize("text,score", [
    ("ich vergebe eine vier", "4"), ("acht von zehn", "8"), ("drei Sterne", "3"), ("fünf Punkte", "5"),
    ("je lui donne un sept", "7"), ("neuf sur dix", "9"), ("deux étoiles, bof", "2"),
    ("gli do un quattro", "4"), ("sei su dieci", "6"), ("tre stelle", "3"),
    ("seit zehn Tagen unterwegs", None), ("je donne deux jours de plus", None),
    ("do un mese di tempo", None), ("I do two workouts a day", None), ("note two things", None),
])
def test_rating_cues_in_german_french_and_italian(text: str, score: str | None) -> None:
    assert rating_of(text) == score


@pytest.mark.parametrize("text,ask", [
    ("it stopped charging after three days, please send a replacement", "replacement"),
    ("arrived broken, I want my money back", "refund"),
    ("the strap snapped, can you fix it?", "repair"),
    ("wrong size, I'd like to exchange it", "exchange"),
    ("I don't want a refund, just a working one", None),        # negated
    ("what a waste of money, it leaks", None),                  # "money" alone is no ask
    ("the glass lid came shattered", None),
])
def test_a_plain_ask_in_a_problem_message_is_found_when_the_crf_marks_none(text, ask):
    assert asked_for(text) == ask
