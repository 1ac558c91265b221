"""DIET's intent prediction for a whole batch in one TensorFlow call (#27).

Rasa 3.6's `DIETClassifier.process` predicts message by message (`_predict` makes a batch of
one and calls the model): at 50 customers back to back that call was the largest cost left in a
parse. `batched_process` makes the model data of every message at once, runs it as one batch
(the shorter messages padded and masked, as in training) and gives each message the intent and
ranking Rasa's own `_predict_label` gives its row of the scores.

It is put in place when a model loads (`use_batched_process`): the trained archive, its
component names and the model's cache key stay as they are. Only the configuration the bot
trains is batched (intents only: no entity tagging, no diagnostic data); any other keeps Rasa's
loop. Padding changes float rounding, not readings: tests/nlu/test_batch_parse.py holds every
confidence within 1e-5 of the single parse's, on the real models. Imported only by Rasa's side.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION, FEATURIZERS, INTENT_CLASSIFICATION
from scipy.sparse import coo_matrix, spmatrix

RANKING = "intent_ranking"  # the key Rasa's `process` sets beside the intent


def batchable(component: Any) -> bool:
    """True for a DIET that only classifies intents (the bot's pipeline): its outputs per
    message are one row of scores, safe to split."""
    if not isinstance(component, DIETClassifier):
        return False
    config = component.component_config
    context = getattr(component, "_execution_context", None)
    return bool(config.get(INTENT_CLASSIFICATION)) and not config.get(ENTITY_RECOGNITION) \
        and not getattr(context, "should_add_diagnostic_data", False)


def batched_process(component: DIETClassifier, messages: List[Message]) -> List[Message]:
    """`DIETClassifier.process` with one `run_inference` for every message that has features
    (one without gets what `_predict` returning None gives: no intent, no ranking)."""
    if not batchable(component) or component.model is None:
        return DIETClassifier.process(component, messages)
    featured = [index for index, message in enumerate(messages)
                if message.features_present(attribute=TEXT,
                                            featurizers=component.component_config.get(FEATURIZERS))]
    rows: dict[int, Any] = {}
    if featured:
        inputs = model_inputs([messages[i] for i in featured]) if not component.component_config.get(FEATURIZERS) \
            else None
        if inputs is not None:
            out = predict_batch(component.model, inputs)
        else:                          # features of another shape: Rasa's own model data
            model_data = component._create_model_data([messages[i] for i in featured], training=False)
            out = None if model_data.is_empty() else component.model.run_inference(model_data, batch_size=len(featured))
        if out is not None:
            scores = out["i_scores"]
            if len(scores) != len(featured):
                raise RuntimeError(f"DIET scored {len(scores)} of {len(featured)} messages")
            rows = {index: scores[row] for row, index in enumerate(featured)}
    for index, message in enumerate(messages):
        row = rows.get(index)
        label, ranking = component._predict_label(None if row is None else {"i_scores": row})
        message.set(INTENT, label, add_to_output=True)
        message.set(RANKING, ranking, add_to_output=True)
    return messages


def predict_batch(model: Any, inputs: tuple[np.ndarray, ...]) -> Any:
    """The model's outputs for one prepared batch. Adapter for a Rasa private (Rasa 3.6.21):
    `RasaModel.run_inference` wraps `_rasa_predict` in a data generator that rebuilds the
    batch from `RasaModelData` in Python; `model_inputs` already is that batch."""
    return model._rasa_predict(inputs)


def model_inputs(messages: Sequence[Message]) -> Optional[tuple[np.ndarray, ...]]:
    """The batch DIET predicts from for `messages`, built straight from each message's sparse
    text features: the same arrays, in the same order and dtypes, as Rasa 3.6 makes with
    `_create_model_data(messages, training=False)` and the first batch of its data generator
    (`create_data_generators(..., batch_sizes=len(messages), shuffle=False)`), without the
    per-message deep copies, `scipy.sparse.hstack` and feature-array objects on the way
    (tests/nlu/test_batch_parse.py compares them array for array). None for features of any
    other shape (dense ones, a type missing, widths that differ): then Rasa's own way."""
    sequences: list[list[spmatrix]] = []
    sentences: list[list[spmatrix]] = []
    for message in messages:
        sequence: list[spmatrix] = []
        sentence: list[spmatrix] = []
        for features in message.features:
            if features.attribute != TEXT:
                continue
            if not features.is_sparse():
                return None
            if features.type == FEATURE_TYPE_SEQUENCE:
                sequence.append(features.features)
            elif features.type == FEATURE_TYPE_SENTENCE:
                sentence.append(features.features)
            else:
                return None
        if not sequence or not sentence:
            return None
        sequences.append(sequence)
        sentences.append(sentence)
    sentence_values = _sparse_values(sentences)
    sequence_values = _sparse_values(sequences)
    if sentence_values is None or sequence_values is None:
        return None
    mask = np.ones((len(messages), 1, 1), dtype=np.float32)          # every message has text
    lengths = np.array([blocks[0].shape[0] for blocks in sequences]).astype(np.float32)
    # Rasa's order: the model data's keys sorted (mask, sentence, sequence, sequence_lengths)
    return (mask, *sentence_values, *sequence_values, lengths)


def _sparse_values(per_message: list[list[spmatrix]]) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(indices, values, shape) of the messages' feature blocks side by side (as Rasa's
    `hstack` of them, in featurizer order) and the messages one after the other (as its data
    generator's `_scipy_matrix_to_values`); None when the messages' blocks do not line up."""
    widths = [block.shape[1] for block in per_message[0]]
    positions, rows, columns, values = [], [], [], []
    longest = 0
    for index, blocks in enumerate(per_message):
        length = blocks[0].shape[0]
        if [block.shape[1] for block in blocks] != widths or any(block.shape[0] != length for block in blocks):
            return None
        longest = max(longest, length)
        offset = 0
        for block in blocks:
            coo = block if isinstance(block, coo_matrix) else block.tocoo()
            positions.append(np.full(coo.nnz, index, dtype=np.int64))
            rows.append(coo.row)
            columns.append(coo.col.astype(np.int64) + offset)
            values.append(coo.data)
            offset += block.shape[1]
    indices = np.stack([np.concatenate(positions), np.concatenate(rows).astype(np.int64),
                        np.concatenate(columns)], axis=1)
    data = np.concatenate(values).astype(np.float32)
    shape = np.array((len(per_message), longest, sum(widths)), dtype=np.int64)
    return indices, data, shape


def use_batched_process(graph_nodes: Any, on: bool = True) -> int:
    """Point each loaded graph node that runs a batchable DIET's `process` at
    `batched_process` (`on=False`: back at Rasa's own loop); the number of nodes changed."""
    changed = 0
    for node in graph_nodes:
        if getattr(node, "_fn_name", None) == "process" and batchable(getattr(node, "_component", None)):
            node._fn = batched_process if on else DIETClassifier.process
            changed += 1
    return changed
