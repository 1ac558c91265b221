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

from typing import Any, List

from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION, FEATURIZERS, INTENT_CLASSIFICATION

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
        model_data = component._create_model_data([messages[i] for i in featured], training=False)
        if not model_data.is_empty():
            out = component.model.run_inference(model_data, batch_size=len(featured))
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


def use_batched_process(graph_nodes: Any, on: bool = True) -> int:
    """Point each loaded graph node that runs a batchable DIET's `process` at
    `batched_process` (`on=False`: back at Rasa's own loop); the number of nodes changed."""
    changed = 0
    for node in graph_nodes:
        if getattr(node, "_fn_name", None) == "process" and batchable(getattr(node, "_component", None)):
            node._fn = batched_process if on else DIETClassifier.process
            changed += 1
    return changed
