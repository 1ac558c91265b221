"""Is a test set really held out? Find its sentences that equal or nearly equal training ones.

A figure measured on sentences the model was trained on says nothing about new customers, so
`make test` fails when any held-out sentence is a copy or a near-copy of a training sentence.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from rapidfuzz import fuzz, process

NEAR = 0.85  # normalised similarity at or above which two sentences count as the same


@dataclass(frozen=True)
class Overlap:
    """A held-out sentence and the training sentence it (nearly) copies."""

    held_out: str
    training: str
    similarity: float


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation and emoji dropped, spaces collapsed: what is
    left is what makes two sentences say the same thing to the model."""
    folded = unicodedata.normalize("NFKD", text.lower())
    kept = "".join(ch if ch.isalnum() else " " for ch in folded
                   if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", kept).strip()


def overlaps(held_out: Iterable[str], training: Iterable[str],
             threshold: float = NEAR) -> list[Overlap]:
    """Every held-out sentence whose normalised form is at least `threshold` similar
    (rapidfuzz's normalised Indel ratio, as difflib's) to some training sentence."""
    corpus: dict[str, str] = {}
    for sentence in training:
        corpus.setdefault(normalise(sentence), sentence)
    keys = list(corpus)
    found = []
    for sentence in held_out:
        key = normalise(sentence)
        if not key:
            continue
        best = process.extractOne(key, keys, scorer=fuzz.ratio,
                                  score_cutoff=threshold * 100)
        if best is not None:
            found.append(Overlap(sentence, corpus[best[0]], best[1] / 100))
    return found
