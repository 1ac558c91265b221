"""Turn a free-text answer into a score when the customer states one ("I'd give it a 4", "5/5").

Deliberately strict: "it broke after 2 days" is not a score of 2. A number counts when it is
the whole reply, opens it as an answer ("3, the pan rusted"), or is framed as a rating (N/M,
N out of M, N stars, "give it N", "rate it N"; other languages' framings come as the `rating`
entity, bot/nlu/cue_words.py).
"""
from __future__ import annotations

import re
from typing import Optional

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
_NUM = r"(\d{1,2}|" + "|".join(_WORDS) + r")"
_PATTERNS = (
    re.compile(rf"^\W*{_NUM}\W*$"),                                             # "4", "4!"
    re.compile(rf"\b{_NUM}\s*(?:/|out\s+of|of)\s*(\d{{1,2}}|{'|'.join(_WORDS)})\b"),  # "4/5", "8 out of 10"
    re.compile(rf"\b{_NUM}\s*(?:stars?|points?|⭐)"),                            # "5 stars"
    re.compile(r"^\W*(\d{1,2})\s*(?:[,;:\u2013\u2014-]|\.(?!\d))"),                # "3, the pan rusted"
    re.compile(rf"\b(?:give|giving|gave|rate|rating|rated|score|say|it'?s\s+a)\s+(?:it|them|this|you|that)?\s*(?:an?\s+)?(?:solid\s+)?{_NUM}\b"),
)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _WORDS[token]


def score_from_text(text: str, low: int, high: int, rating_entity: Optional[str] = None) -> Optional[int]:
    """The score on the [low, high] scale stated in `text`, or None when none is stated."""
    lowered = text.lower().strip()
    for index, pattern in enumerate(_PATTERNS):
        match = pattern.search(lowered)
        if not match:
            continue
        value = _number(match.group(1))
        if index == 1:
            out_of = _number(match.group(2))
            if out_of <= 0 or value > out_of:
                continue
            if out_of != high:
                value = round(low + (high - low) * value / out_of)
        if low <= value <= high:
            return value
    if rating_entity is not None:
        token = rating_entity.strip().lower()
        if token.isdigit() or token in _WORDS:
            value = _number(token)
            if low <= value <= high:
                return value
    return None
