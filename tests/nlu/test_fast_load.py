"""The fast load (weights built by one forward pass instead of a training step, graph traced
without autograph) must not change a single prediction compared with Rasa's own
`Agent.load`, and must leave none of the training state behind that made the bot heavy."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot.nlu.evaluate import load_examples
from bot.nlu.rasa_nlu import RasaParser, _components, _quietly, model_path

pytestmark = pytest.mark.nlu

TEXTS = ["stop", "the sole came off after a week", "still in the box", "I'd give it a 4",
         "can I talk to a person", "meh, it's fine i guess", "how do I clean it?",
         "arrived broken, I want a refund", "where is my parcel", "thanks a lot!"]


@pytest.fixture(scope="module")
def plain_parser(rasa_parser, nlu_settings):
    """The same model loaded Rasa's own way (a one-step fit, then the archive's weights)."""
    from rasa.core.agent import Agent

    with _quietly():
        agent = Agent.load(str(model_path(nlu_settings)))
    plain = RasaParser(agent, nlu_settings.confidence_threshold, rasa_parser.vocabulary)
    yield plain
    plain.close()


def test_fast_load_predicts_exactly_like_agent_load(rasa_parser, plain_parser, nlu_settings) -> None:
    held_out = [example.text for example in load_examples(nlu_settings.test_data)]
    assert len(held_out) > 100
    for text in TEXTS + held_out:
        fast, slow = rasa_parser.parse(text), plain_parser.parse(text)
        assert (fast.intent, fast.entities) == (slow.intent, slow.entities), text
        assert fast.confidence == pytest.approx(slow.confidence, abs=1e-5), text
        assert [name for name, _ in fast.ranking] == [name for name, _ in slow.ranking], text
        assert [c for _, c in fast.ranking] == pytest.approx([c for _, c in slow.ranking], abs=1e-5), text


def _optimizer_values(parser: RasaParser) -> int:
    """How many numbers the loaded TensorFlow models' optimizers hold."""
    total = 0
    for component in _components(parser.agent):
        optimizer = getattr(getattr(component, "model", None), "optimizer", None)
        if optimizer is not None:
            total += sum(int(v.shape.num_elements()) for v in optimizer.variables())
    return total


def test_fast_load_keeps_no_optimizer_state(rasa_parser, plain_parser) -> None:
    """Rasa's load keeps Adam's two slots per weight (~15 MB a model); predicting needs none."""
    assert _optimizer_values(plain_parser) > 1_000_000       # the measure sees them
    assert _optimizer_values(rasa_parser) <= 1               # the step counter at most


def test_loading_a_model_does_not_import_jax() -> None:
    """TensorFlow imports JAX (~60 MB) only for a TFLite converter the bot never uses."""
    code = ("from bot.nlu.rasa_nlu import prepare_environment; import sys, pathlib; "
            "prepare_environment(pathlib.Path('models')); import tensorflow, rasa.core.agent; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib') and sys.modules[m]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
