"""The count-vector featurizers' features for a whole batch in two sklearn calls (#27).

Rasa 3.6's `CountVectorsFeaturizer.process` calls sklearn's `transform` twice per message (the
tokens one per row: the sequence features; the joined text: the sentence features), and each
call pays sklearn's and scipy's set-up (the analyzer, the sparse matrix, its checks) again; in a
parse of the bot's short messages that set-up was most of the featurizers' time.
`batched_process` transforms every message's tokens in one call and every joined text in
another, then gives each message its own rows as the same `coo_matrix` Rasa's loop gives it
(counts are per row: a row does not depend on the rows beside it). It is put in place when a
model loads (`use_batched_process`), like bot/nlu/diet_batch.py: the trained archive and the
model's cache key stay as they are. tests/nlu/test_batch_parse.py compares every feature with
Rasa's loop's. Imported only by Rasa's side.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import coo_matrix, csr_matrix


def batched_process(component: CountVectorsFeaturizer, messages: List[Message]) -> List[Message]:
    """`CountVectorsFeaturizer.process` with one `transform` per attribute and feature type for
    all `messages`; each message gets the features, in the order, Rasa's loop gives it."""
    if component.vectorizers is None or type(component) is not CountVectorsFeaturizer:
        return CountVectorsFeaturizer.process(component, messages)
    for attribute in _attributes(component):
        vectorizer = component.vectorizers.get(attribute)
        if not vectorizer:                            # Rasa's `_create_features`: nothing to add
            continue
        tokens = [_tokens(component, message, attribute) for message in messages]
        present = [index for index, words in enumerate(tokens) if words]
        if not present:
            continue
        sequences = _sorted(vectorizer.transform([word for index in present for word in tokens[index]]))
        sentences = _sorted(vectorizer.transform([" ".join(tokens[index]) for index in present])) \
            if attribute in DENSE_FEATURIZABLE_ATTRIBUTES else None
        start = 0
        for row, index in enumerate(present):
            end = start + len(tokens[index])
            component.add_features_to_message(_rows(sequences, start, end),
                                              None if sentences is None else _rows(sentences, row, row + 1),
                                              attribute, messages[index])
            start = end
    return messages


def _attributes(component: CountVectorsFeaturizer) -> List[str]:
    """The message attributes the featurizer reads, in its order. Adapter for a Rasa private
    (Rasa 3.6.21: `_attributes`, set from the analyzer at construction)."""
    return list(component._attributes)


def _tokens(component: CountVectorsFeaturizer, message: Message, attribute: str) -> List[str]:
    """The message's processed tokens for `attribute`. Adapter for a Rasa private (Rasa
    3.6.21): the featurizer's own token processing (numbers, lower case, OOV), so the batch
    sees exactly what its `process` would."""
    return component._get_processed_message_tokens_by_attribute(message, attribute)


def _sorted(matrix: csr_matrix) -> csr_matrix:
    matrix.sort_indices()                             # as Rasa does after each transform
    return matrix


def _rows(matrix: csr_matrix, start: int, end: int) -> coo_matrix:
    """Rows start..end of a CSR matrix as the `coo_matrix` `matrix[start:end].tocoo()` makes:
    the same entries in the same order, the same dtypes and shape."""
    low, high = matrix.indptr[start], matrix.indptr[end]
    counts = np.diff(matrix.indptr[start:end + 1])
    rows = np.repeat(np.arange(end - start, dtype=matrix.indices.dtype), counts)
    shape = (end - start, matrix.shape[1])
    if _PLAIN_COO and matrix.indices.dtype == np.int32 and max(shape) < _INT32_MAX:
        return _coo(matrix.data[low:high], rows, matrix.indices[low:high], shape)
    return coo_matrix((matrix.data[low:high], (rows, matrix.indices[low:high])), shape=shape, dtype=matrix.dtype)


_INT32_MAX = np.iinfo(np.int32).max
# What scipy's coo_matrix((data, (row, col)), shape) holds, for `_coo`; any other scipy: its constructor
_COO_FIELDS = {"_shape", "maxprint", "row", "col", "data", "has_canonical_format"}
_PROBE = coo_matrix((np.ones(1), (np.zeros(1, np.int32), np.zeros(1, np.int32))), shape=(1, 1))
_PLAIN_COO = set(vars(_PROBE)) == _COO_FIELDS and _PROBE.row.dtype == np.int32


def _coo(data: np.ndarray, rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> coo_matrix:
    """`coo_matrix((data, (rows, columns)), shape)` for arrays already as that constructor leaves
    them (int32 indices within the shape, native data): the same object without its checks,
    which cost more than the rest of a message's features (scipy's index-dtype and bounds
    checks, ~0.1 ms a matrix). Adapter for scipy's internals (1.10: the fields its constructor
    sets; `_PLAIN_COO` checks them at import, else the constructor runs)."""
    matrix = coo_matrix.__new__(coo_matrix)
    matrix.__dict__.update(_shape=shape, maxprint=_PROBE.maxprint, row=rows, col=columns, data=data,
                           has_canonical_format=False)
    return matrix


def use_batched_process(graph_nodes: Any, on: bool = True) -> int:
    """Point each loaded graph node that runs a `CountVectorsFeaturizer`'s `process` at
    `batched_process` (`on=False`: back at Rasa's own loop); the number of nodes changed."""
    changed = 0
    for node in graph_nodes:
        component: Any = getattr(node, "_component", None)
        if getattr(node, "_fn_name", None) == "process" and type(component) is CountVectorsFeaturizer:
            node._fn = batched_process if on else CountVectorsFeaturizer.process
            changed += 1
    return changed
