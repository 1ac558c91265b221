"""What a trained model archive knows, read without TensorFlow: the vocabularies of its
CountVectorsFeaturizers.

The language router decides which model reads a message from these alone (known words, then
character trigrams), so it can route before the models themselves have loaded: a bot answers
in its first language while the others load behind, and a message for a model still loading
waits for that model instead of being read by another one.
"""
from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NGRAM = 3  # the unfamiliar-text guard's character n-gram (bot/nlu/rasa_nlu.py)
_FEATURIZER = "CountVectorsFeaturizer"


@dataclass(frozen=True)
class Vocabulary:
    """A model's trained words (its word-level featurizer) and character trigrams (char_wb)."""

    words: frozenset[str]
    trigrams: frozenset[str]


def read_vocabulary(path: Path) -> Vocabulary:
    """The vocabularies in the archive at `path`; empty sets for what it does not have.
    Raises ValueError naming the archive when it is not a readable model.

    Only the archive's head is read: Rasa writes the components' folders in name order, so the
    featurizers' come before DIET's weights (most of the archive's bytes). A char_wb
    vocabulary is told from a word one by its space-padded n-grams (words never hold a space)."""
    words: set[str] = set()
    trigrams: set[str] = set()
    seen_featurizer = False
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                name = member.name.lstrip("/")
                if f"/train_{_FEATURIZER}" not in name:
                    if seen_featurizer:
                        break
                    continue
                seen_featurizer = True
                if not name.endswith("/vocabularies.json"):
                    continue
                text = _json(archive, member).get("text") or {}
                char_wb = any(" " in gram for gram in text)
                if char_wb and not trigrams:
                    trigrams.update(gram for gram in text if len(gram) == NGRAM)
                elif not char_wb and not words:        # the first word featurizer, as Rasa's graph
                    words.update(text)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable model archive ({exc})") from exc
    return Vocabulary(frozenset(words), frozenset(trigrams))


def _json(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    handle = archive.extractfile(member)
    if handle is None:
        return {}
    data = json.loads(handle.read().decode("utf-8"))
    return data if isinstance(data, dict) else {}
