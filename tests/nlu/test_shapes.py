"""Order numbers, amounts, dates and e-mail addresses become one placeholder token each, so
the model learns "where is order X" once; ratings keep their digits for the entity."""
from __future__ import annotations

import pytest

from bot.nlu.rasa_nlu import NGRAM, familiarity
from bot.nlu.shapes import AMOUNT, DATE, EMAIL, ORDER, shape, shaped_words


@pytest.mark.parametrize("token,expected", [
    ("00123842", ORDER), ("113542617735902", ORDER), ("#4471", ORDER), ("#A48213", ORDER),
    ("ORD-55812", ORDER), ("A77120", ORDER), ("1Z999AA10123456784", ORDER),
    ("$1200", AMOUNT), ("£45.99", AMOUNT), ("1,200.00", AMOUNT), ("89.90", AMOUNT),
    ("30€", AMOUNT), ("12/03/2025", DATE), ("2025-03-12", DATE), ("5th", DATE), ("2024", DATE),
    ("jane.doe@example.com", EMAIL), ("Mike@Example.COM,", EMAIL),
])
def test_shapes(token: str, expected: str) -> None:
    assert shape(token) == expected


@pytest.mark.parametrize("token", ["4/5", "9/10", "10/10", "4", "10", "refund", "wi-fi",
                                   "covid-19", "it's", "😀", "size", "44"])
def test_what_keeps_its_spelling(token: str) -> None:
    assert shape(token) is None


def test_a_number_before_a_currency_word_is_an_amount() -> None:
    assert shaped_words(["rebate", "1200", "dollars"]) == ["rebate", AMOUNT, "dollars"]
    assert shaped_words(["give", "it", "a", "4"]) == ["give", "it", "a", "4"]


def test_a_new_order_number_is_as_familiar_as_a_known_one() -> None:
    vocabulary = frozenset(g for w in ("where", "is", "order", ORDER)
                           for p in (f" {w} ",) for g in (p[i:i + NGRAM]
                                                          for i in range(len(p) - NGRAM + 1)))
    assert familiarity("where is order 99912345", vocabulary) == 1.0
    assert familiarity("where is order ORD-77", vocabulary) < 1.0  # too short to be one
