"""Entity values reach the engine as canonical strings, once each (no model needed)."""
from __future__ import annotations

from bot.nlu.base import Entity
from bot.nlu.rasa_nlu import MAX_CHARS, _clean, _entities


def test_duplicates_are_dropped_and_order_kept() -> None:
    raw = [{"entity": "problem_type", "value": "damaged"},
           {"entity": "rating", "value": "4"},
           {"entity": "problem_type", "value": "damaged"}]
    assert _entities(raw) == (Entity("problem_type", "damaged"), Entity("rating", "4"))


def test_unmapped_problem_spans_are_not_passed_on() -> None:
    raw = [{"entity": "problem_type", "value": "big dent"},
           {"entity": "problem_type", "value": "Defective"}]
    assert _entities(raw) == (Entity("problem_type", "defective"),)


def test_ratings_become_digits() -> None:
    raw = [{"entity": "rating", "value": "four"}, {"entity": "rating", "value": "9/10"},
           {"entity": "rating", "value": "stars"}, {"entity": "rating", "value": 3}]
    assert _entities(raw) == (Entity("rating", "4"), Entity("rating", "9"),
                              Entity("rating", "3"))


def test_clean_trims_cuts_and_drops_control_characters() -> None:
    assert _clean("  hello\x00\tthere \n") == "hello there"
    assert _clean("") == ""
    assert len(_clean("a" * 10_000)) == MAX_CHARS
