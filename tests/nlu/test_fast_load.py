"""The fast load (weights built by one forward pass instead of a training step, graph traced
without autograph) must not change a single prediction compared with Rasa's own
`Agent.load`, in any trained language (each has its own model and pipeline overrides), and
must leave none of the training state behind that made the bot heavy."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot.nlu.evaluate import load_examples
from bot.nlu.languages import for_language
from bot.nlu.rasa_nlu import LoadedModel, RasaParser, _components, _quietly, load_nlu_settings, model_path, train
from tests.support.harness import CONFIG

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
    plain = RasaParser(LoadedModel.of_agent(agent), nlu_settings.confidence_threshold, rasa_parser.vocabulary)
    yield plain
    plain.close()


LANGUAGES = load_nlu_settings(CONFIG).languages       # every model the bot loads


def _same_predictions(fast: RasaParser, slow: RasaParser, texts: list[str]) -> None:
    for text in texts:
        a, b = fast.parse(text), slow.parse(text)
        assert (a.intent, a.entities) == (b.intent, b.entities), text
        assert a.confidence == pytest.approx(b.confidence, abs=1e-5), text
        assert [name for name, _ in a.ranking] == [name for name, _ in b.ranking], text
        assert [c for _, c in a.ranking] == pytest.approx([c for _, c in b.ranking], abs=1e-5), text


def test_every_trained_language_is_compared():
    assert len(LANGUAGES) >= 6 and "en" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_fast_load_predicts_exactly_like_agent_load(nlu_settings, language) -> None:
    """Each language's model, loaded both ways, on its own held-out sentences (and, for English,
    a few hand-picked ones)."""
    from rasa.core.agent import Agent

    one = for_language(nlu_settings, language)
    path = train(one)                          # cached: `make test` trained every language first
    held_out = [example.text for example in load_examples(one.test_data)]
    assert len(held_out) > 100, language
    fast = RasaParser.load(path, one.confidence_threshold)
    with _quietly():
        slow = RasaParser(LoadedModel.of_agent(Agent.load(str(path))), one.confidence_threshold, fast.vocabulary)
    try:
        _same_predictions(fast, slow, (TEXTS if language == "en" else []) + held_out)
    finally:
        fast.close()
        slow.close()


def test_an_untraced_model_reads_as_the_traced_one(rasa_parser, nlu_settings) -> None:
    """A model loaded behind answers eagerly until its graph is traced (the first reply does
    not wait for the trace): the eager answers and the graph's are the same."""
    held_out = [example.text for example in load_examples(nlu_settings.test_data)][:120]
    eager = RasaParser.load(model_path(nlu_settings), nlu_settings.confidence_threshold, warm=False)
    try:
        _same_predictions(eager, rasa_parser, TEXTS + held_out)
        assert not eager.traced, "the eager parses traced the graph"
        eager.warm_up()
        assert eager.traced
        _same_predictions(eager, rasa_parser, TEXTS)
    finally:
        eager.close()


def _optimizer_values(parser: RasaParser) -> int:
    """How many numbers the loaded TensorFlow models' optimizers hold."""
    total = 0
    for component in _components(parser.model):
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
