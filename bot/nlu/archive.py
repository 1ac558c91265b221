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
    Raises ValueError naming the archive when it is not a readable model."""
    vocabularies: dict[str, dict[str, Any]] = {}
    metadata: dict[str, Any] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                name = member.name.lstrip("/")
                if name == "metadata.json":
                    metadata = _json(archive, member)
                elif name.endswith("/vocabularies.json") and _FEATURIZER in name:
                    vocabularies[name.split("/")[-2]] = _json(archive, member)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable model archive ({exc})") from exc
    nodes = (metadata.get("train_schema") or {}).get("nodes") or {}
    words: set[str] = set()
    trigrams: set[str] = set()
    for node, vocabulary in vocabularies.items():
        analyzer = ((nodes.get(node) or {}).get("config") or {}).get("analyzer", "word")
        text = vocabulary.get("text") or {}
        if analyzer == "word" and not words:            # the first word featurizer, as Rasa's graph
            words.update(text)
        elif analyzer == "char_wb" and not trigrams:
            trigrams.update(gram for gram in text if len(gram) == NGRAM)
    return Vocabulary(frozenset(words), frozenset(trigrams))


def _json(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    handle = archive.extractfile(member)
    if handle is None:
        return {}
    data = json.loads(handle.read().decode("utf-8"))
    return data if isinstance(data, dict) else {}
