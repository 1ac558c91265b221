"""What a token is, when its exact spelling does not matter: an order number, an amount of
money, a date, an e-mail address.

The model should learn "where is order __order__" once, not once per order number, and an
order number nobody trained on must not look like a stranger. Rasa already folds every plain
number into one feature; this goes further for the shapes customers paste. A rating such as
"4/5" or "9/10" keeps its digits: the entity extractor reads the score from it.
"""
from __future__ import annotations

import re

ORDER = "__order__"
AMOUNT = "__amount__"
DATE = "__date__"
EMAIL = "__email__"
SHAPES = (ORDER, AMOUNT, DATE, EMAIL)

_CURRENCY_WORDS = frozenset({
    "dollar", "dollars", "usd", "eur", "euro", "euros", "gbp", "pound", "pounds", "quid",
    "bucks", "cents", "brl", "reais", "chf",
})
_EDGES = "\"'()[]{}<>,;:!?."  # punctuation a tokenizer may leave at a token's ends
_RATING = re.compile(r"(10|[0-9])/(5|10)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_MONEY = re.compile(r"[$€£¥₹]\s?\d[\d,.]*|\d[\d,.]*\s?(?:[$€£¥₹]|usd|eur|gbp|k)|"
                    r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+\.\d{2}")
_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}|"
                   r"\d{1,2}(?:st|nd|rd|th)|(?:19|20)\d{2}")
_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def shape(token: str) -> str | None:
    """The placeholder for one whitespace token, or None when its spelling matters."""
    word = token.lower().strip(_EDGES) or token.lower()
    if _RATING.fullmatch(word):
        return None
    if _EMAIL.fullmatch(word):
        return EMAIL
    if _MONEY.fullmatch(word):
        return AMOUNT
    if _DATE.fullmatch(word):
        return DATE
    if _is_order(word):
        return ORDER
    return None


def _is_order(word: str) -> bool:
    """An order, tracking or reference number: "#4471", "00123842", "ORD-55812", "A77120"."""
    code = word[1:] if word.startswith("#") else word
    if not code or not _CODE.fullmatch(code):
        return False
    digits = sum(ch.isdigit() for ch in code)
    letters = any(ch.isalpha() for ch in code)
    return (digits >= 5 or (digits >= 4 and letters) or (word.startswith("#") and digits > 0)
            or (digits >= 3 and letters and "-" in code))


def shaped_words(words: list[str]) -> list[str]:
    """Each word, or its placeholder; a number just before a currency word is an amount."""
    out = []
    for i, word in enumerate(words):
        placeholder = shape(word)
        if placeholder is None and word.replace(",", "").replace(".", "").isdigit() \
                and i + 1 < len(words) and words[i + 1].lower().strip(_EDGES) in _CURRENCY_WORDS:
            placeholder = AMOUNT
        out.append(placeholder or word)
    return out
