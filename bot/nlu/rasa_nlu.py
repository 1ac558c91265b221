"""Rasa Open Source 3.6 behind the `Parser` interface: train under a cache key, load once, parse.

Rasa is imported lazily (it costs about 5 s and prints on import unless telemetry is off), so
`aftercare --help` stays fast and nothing reaches stdout that would break `nlu parse`.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from bot.base.errors import AftercareError
from bot.config.settings import Settings
from bot.config.loading import load_settings
from bot.nlu import cue_words
from bot.nlu.batching import Batcher, Batchers
from bot.nlu.base import DELIVERY_PROBLEMS, FALLBACK_INTENT, INTENTS, PROBLEM_TYPES, REQUESTS, Entity, Parse
from bot.nlu.crf_cache import crf_fitted_once
from bot.nlu.cues import problem_cue
from bot.nlu.deferred_imports import defer_unused_rasa
from bot.nlu.shapes import shaped_words
from bot.nlu.unpacked import loading_unpacked

TRAINING_DATA = "data/nlu.yml"          # English; another language xx: data/nlu_xx.yml
TEST_DATA = "data/nlu_test.yml"         # English held out; another language xx: data/nlu_test_xx.yml
MAX_CHARS = 1000  # longer messages are cut before parsing: latency stays flat, meaning is kept
MIN_FAMILIARITY = 0.25  # below this share of known character trigrams: nlu_fallback
NGRAM = 3
# Bump when the generated Rasa config changes shape, so old cached models are not reused.
_TEMPLATE_VERSION = 2  # 2: ShapeTokenizer (bot/nlu/components.py) in the graph
_OWN_COMPONENT_FILES = ("components.py", "shapes.py")  # part of the cache key
_QUIET_LOGGERS = ("rasa", "tensorflow", "absl", "h5py", "matplotlib", "sanic", "urllib3")

log = logging.getLogger(__name__)


class ModelNotTrainedError(AftercareError):
    """No cached model matches the current training data and pipeline."""


@dataclass(frozen=True)
class NluSetup:
    """The `nlu:` section of config.yml with paths made absolute."""

    model_dir: Path
    confidence_threshold: float
    language: str
    pipeline: list[dict[str, Any]]
    training_data: Path                       # this model's language (English: data/nlu.yml)
    test_data: Path
    # Every trained language (nlu.languages) -> its (training, held-out) files; one model each
    # (bot/nlu/languages.py). These settings themselves describe the English model.
    language_files: Mapping[str, tuple[Path, Path]] = field(default_factory=dict)
    default_language: str = "en"              # the shop's (config `languages.default`)
    # language -> component name -> keys merged into that language's pipeline (config
    # `nlu.overrides`); part of each model's cache key through the merged pipeline
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return list(self.language_files) or [self.language]

    @property
    def test_files(self) -> dict[str, Path]:
        return {lang: files[1] for lang, files in self.language_files.items()}


def load_nlu_settings(config_path: Path | str = "config.yml") -> NluSetup:
    """Read and validate config.yml, then take its NLU part."""
    return nlu_settings(load_settings(Path(config_path).resolve()))


def nlu_settings(settings: Settings) -> NluSetup:
    """The NLU part of already loaded settings; paths relative to the config file's folder."""
    nlu = settings.nlu
    return NluSetup(
        model_dir=settings.resolve(nlu.model_dir),
        confidence_threshold=nlu.confidence_threshold,
        language=nlu.language,
        pipeline=json.loads(json.dumps(nlu.pipeline)),  # plain types, not YAML scalars
        training_data=settings.resolve(TRAINING_DATA),
        test_data=settings.resolve(TEST_DATA),
        language_files={lang: (settings.resolve(data_file(lang, held_out=False)),
                               settings.resolve(data_file(lang, held_out=True))) for lang in _languages(nlu)},
        default_language=settings.languages.default,
        overrides=json.loads(json.dumps(nlu.overrides)),
    )


def data_file(language: str, held_out: bool) -> str:
    """data/nlu.yml, data/nlu_test.yml for English; data/nlu_xx.yml, data/nlu_test_xx.yml else."""
    base = TEST_DATA if held_out else TRAINING_DATA
    if language.split("-")[0] == "en":
        return base
    return base.replace(".yml", f"_{language.split('-')[0]}.yml")


def _languages(nlu: Any) -> list[str]:
    """The trained languages, English (the flows' language) first, each once."""
    found = [lang.split("-")[0] for lang in [nlu.language, *nlu.languages]]
    return list(dict.fromkeys(found))


# ---- cache key and model location ------------------------------------------------------

def rasa_version() -> str:
    """The installed Rasa version, without importing Rasa."""
    return metadata.version("rasa")


def cache_key(training_data: Path | Sequence[Path], pipeline: Sequence[Mapping[str, Any]], language: str,
              version: str | None = None) -> str:
    """sha256 of the training files' bytes, the pipeline and language, Rasa's version and our
    own pipeline code."""
    recipe = json.dumps(
        {"language": language, "pipeline": list(pipeline), "rasa": version or rasa_version(),
         "template": _TEMPLATE_VERSION, "components": _own_components_digest()},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    digest = hashlib.sha256()
    files = [training_data] if isinstance(training_data, (str, Path)) else list(training_data)
    for path in files:
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    digest.update(recipe.encode("utf-8"))
    return digest.hexdigest()


def _own_components_digest() -> str:
    """sha256 of our own pipeline code (the ShapeTokenizer and its shapes): changing how
    text is tokenized must train a new model, not reuse one made the old way."""
    digest = hashlib.sha256()
    for name in _OWN_COMPONENT_FILES:
        digest.update((Path(__file__).with_name(name)).read_bytes())
    return digest.hexdigest()


def model_path(settings: NluSetup) -> Path:
    """Where the model for the current data and pipeline lives (it may not exist yet)."""
    key = cache_key(settings.training_data, settings.pipeline, settings.language)
    return settings.model_dir / f"nlu-{key[:16]}.tar.gz"


def pipeline_for(pipeline: Sequence[Mapping[str, Any]],
                 overrides: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A copy of the pipeline with each named step's keys replaced by the override's."""
    return [{**step, **overrides.get(str(step.get("name")), {})} for step in pipeline]


def rasa_config(settings: NluSetup) -> dict[str, Any]:
    """The config handed to Rasa: NLU only, no policies, nothing left for Rasa to fill in."""
    return {"recipe": "default.v1", "assistant_id": "aftercare-nlu",
            "language": settings.language, "pipeline": settings.pipeline, "policies": []}


# ---- environment -----------------------------------------------------------------------

def prepare_environment(model_dir: Path) -> None:
    """Quiet Rasa and TensorFlow and keep Rasa's cache under the model folder; before import."""
    _skip_jax()
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path(model_dir) / ".rasa-cache"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")  # Rasa pins SQLAlchemy 1.4
    for name in _QUIET_LOGGERS:  # the root logger stays the application's to configure
        logging.getLogger(name).setLevel(logging.WARNING)
    # "tf.function retracing" warnings when several languages' models load: noise to a shop
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    _quiet_structlog()


def _skip_jax() -> None:
    """TensorFlow's TFLite converter imports JAX if it is installed (TensorFlow 2.12 installs
    it) and carries on without it (`except ImportError`); nothing here converts to TFLite, and
    importing JAX costs ~60 MB of the bot's memory. Marking it absent before TensorFlow is
    imported makes that import fail as if JAX were not installed; a process that imported JAX
    on purpose before keeps it."""
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type] # None: "not importable"


def _quiet_structlog() -> None:
    """Rasa logs each parse through structlog, whose default prints DEBUG lines to stdout."""
    import structlog

    if structlog.is_configured():  # the application chose its own logging: keep it
        return
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Rasa prints some messages with print() (stdout is ours), and its dependencies warn
    about their own deprecations on import and load, which no user can act on."""
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        _ignore_deprecations()
        with contextlib.suppress(ImportError):
            import sanic  # noqa: F401 - Rasa imports it, and it turns deprecations back on
        _ignore_deprecations()
        yield


def _ignore_deprecations() -> None:
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.simplefilter("ignore", category)
    # wrong for our pipeline: DIET has entity_recognition off, the CRF alone extracts
    warnings.filterwarnings("ignore", message="You have defined multiple entity extractors")
    # DIET's default evaluation interval (20) above our 10 epochs: we evaluate on no held-out
    # examples while training (evaluate_on_number_of_examples is 0), so nothing is skipped
    warnings.filterwarnings("ignore", message="'evaluate_every_number_of_epochs=")


# ---- training --------------------------------------------------------------------------

def train(settings: NluSetup, force: bool = False,
          progress: Callable[[str], None] | None = None, keep: Sequence[Path] = ()) -> Path:
    """Train unless a model for this exact data and pipeline exists; return its path."""
    say = progress or (lambda message: None)
    target = model_path(settings)
    if target.exists() and not force:
        say(f"model up to date: {target}")
        return target
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    with _training_lock(settings.model_dir, target, say):
        if target.exists() and not force:  # another process trained it while we waited
            say(f"model up to date: {target}")
            return target
        _train_locked(settings, target, force, say)
    _prune(settings.model_dir, keep={target, *keep})
    return target


@contextlib.contextmanager
def _training_lock(model_dir: Path, target: Path, say: Callable[[str], None]) -> Iterator[None]:
    """One training at a time per model (`make test` may run in parallel; two languages may
    train side by side), and clear what a killed training of this model left behind."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, trainings may overlap
        yield
        return
    with open(model_dir / f".train-{target.stem}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another training is running; waiting for it ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        for leftover in model_dir.glob(f"{_scratch_prefix(target)}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        yield


@contextlib.contextmanager
def _own_rasa_cache(language: str) -> Iterator[None]:
    """Each language's Rasa training cache in its own folder: two trainings side by side must
    not share one SQLite index (Rasa raises on a locked one) nor purge each other's entries."""
    base = os.environ.get("RASA_CACHE_DIRECTORY")
    if base is None:
        yield
        return
    os.environ["RASA_CACHE_DIRECTORY"] = str(Path(base) / language)
    try:
        yield
    finally:
        os.environ["RASA_CACHE_DIRECTORY"] = base


def _scratch_prefix(target: Path) -> str:
    """The name a training's scratch folder starts with: one model's, never another's."""
    return f".train-{target.stem}-"


def _prune(model_dir: Path, keep: set[Path], newest: int = 12) -> None:
    """Keep the newest models (one per language, and switching branches back stays instant:
    12 is two configurations of six languages, ~200 MB), delete older; never one in `keep`
    (the languages' models trained together)."""
    models = sorted(model_dir.glob("nlu-*.tar.gz"), key=lambda p: p.stat().st_mtime,
                    reverse=True)
    for old in [m for m in models if m not in keep][max(0, newest - len(keep)):]:
        old.unlink(missing_ok=True)


def _train_locked(settings: NluSetup, target: Path, force: bool,
                  say: Callable[[str], None]) -> None:
    prepare_environment(settings.model_dir)
    say(f"training the NLU model on {settings.training_data.name} (a few minutes) ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=_scratch_prefix(target), dir=settings.model_dir) as tmp:
        config_file = Path(tmp) / "config.yml"
        # JSON is YAML; Rasa may rewrite this file, which is why it is a throwaway copy.
        config_file.write_text(json.dumps(rasa_config(settings), indent=2), encoding="utf-8")
        with _own_rasa_cache(settings.language), _quietly():
            from rasa.model_training import train_nlu

            built = train_nlu(config=str(config_file), nlu_data=str(settings.training_data),
                              output=tmp, fixed_model_name="model",
                              # --force also skips Rasa's per-component training cache
                              additional_arguments={"force_full_training": force})
        if not built or not Path(built).exists():
            raise RuntimeError(f"Rasa did not produce a model from {settings.training_data}")
        os.replace(built, target)  # atomic: a reader never sees half a model
    say(f"trained in {time.monotonic() - started:.0f} s: {target}")


# ---- parsing ---------------------------------------------------------------------------

class RasaParser:
    """A loaded Rasa model. `parse` for threads without a loop, `aparse` inside one."""

    def __init__(self, model: "LoadedModel", confidence_threshold: float,
                 vocabulary: frozenset[str] = frozenset(), keyword_fallback: bool = True) -> None:
        self._model = model
        self._threshold = confidence_threshold
        # the documented rules after the model: entities it missed (`rating_of`,
        # `problem_type_of`) and a problem cue over a happy reading (`_problem_first`); off
        # only to measure what the model finds on its own
        self._keyword_fallback = keyword_fallback
        self._vocabulary = vocabulary  # character n-grams the model was trained on
        self._lock = threading.Lock()  # one graph run at a time, from any thread
        self._batchers = Batchers(lambda _: Batcher(self.parse_many))  # aparse: what waits, read together

    @classmethod
    def load(cls, path: Path, confidence_threshold: float,
             keyword_fallback: bool = True, warm: bool = True) -> "RasaParser":
        """Load a model archive (seconds: do it once per process). `warm`: trace its graph
        now, so the first real message is fast; else it parses eagerly (~0.06 s a message
        instead of ~0.008) until `warm_up` traces it: a start-up that must answer soon
        leaves the trace (~0.8 s of CPU per model) for later."""
        prepare_environment(Path(path).parent)
        with _quietly():
            model = _load_model(Path(path))
        parser = cls(model, confidence_threshold, _trained_ngrams(model), keyword_fallback)
        if warm:
            parser.warm_up()
        else:
            for predict in parser._predicts():
                predict.eager = True
        return parser

    def warm_up(self) -> None:
        """Trace the model's graph now (a parse of "hello"): later parses run the graph."""
        for predict in self._predicts():
            predict.eager = False
        self.parse("hello")

    @property
    def traced(self) -> bool:
        """True once every TensorFlow model of this parser runs as a traced graph."""
        return all(predict.traced for predict in self._predicts())

    def _predicts(self) -> list["_GraphPredict"]:
        return [predict for component in _components(self._model)
                if isinstance(predict := getattr(getattr(component, "model", None), "_tf_predict_step", None),
                              _GraphPredict)]

    @property
    def model(self) -> "LoadedModel":
        """The loaded Rasa model (read-only use: its components' trained vocabularies)."""
        return self._model

    @property
    def vocabulary(self) -> frozenset[str]:
        """The character trigrams this model was trained on (empty: unknown)."""
        return self._vocabulary

    def without_keyword_fallback(self) -> "RasaParser":
        """The same loaded model without the rules after it (keyword entities, problem cues):
        what the model finds on its own (for measuring; the bot always uses them)."""
        return RasaParser(self._model, self._threshold, self._vocabulary, keyword_fallback=False)

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        """Understand one message; safe from any thread. One model, one language: the
        `language` hint changes nothing."""
        return self.parse_many([text])[0]

    def parse_many(self, texts: Sequence[str]) -> list[Parse]:
        """Understand several messages in one run of the model's graph (each component's
        `process` takes the list): the same readings as one `parse` each, with Rasa's
        per-message overhead paid once (tests/nlu/test_batch_parse.py compares them)."""
        parses: list[Optional[Parse]] = []
        readable: list[tuple[int, str]] = []
        for index, text in enumerate(texts):
            clean = clean_text(text)
            if not clean or familiarity(clean, self._vocabulary) < MIN_FAMILIARITY:
                # nothing the model has seen (emoji, another script, keyboard mash): a guess
                # here would be a confident wrong intent, so ask again instead
                parses.append(Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0))
            else:
                parses.append(None)
                readable.append((index, clean))
        if readable:
            with self._lock:
                raws = self._read([clean for _, clean in readable])
            for (index, _), raw in zip(readable, raws, strict=True):
                parses[index] = self._to_parse(texts[index], raw)
        return [parse for parse in parses if parse is not None]

    def _read(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Rasa's `Agent.parse_message` for each text, as one graph run: the same inputs (a
        `UserMessage` each and an empty tracker), the same parse data per message (the NLU
        target's messages as dicts of their output properties, over the same defaults),
        without its coroutine, debug log (a deep copy of every parse) and domain check."""
        from rasa.core.channels.channel import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker

        messages = [UserMessage(text) for text in texts]
        target = self._model.metadata.nlu_target
        results = self._model.runner.run(
            inputs={PLACEHOLDER_MESSAGE: messages,
                    PLACEHOLDER_TRACKER: DialogueStateTracker.from_events(messages[0].sender_id, [])},
            targets=[target])
        parsed = results[target]
        if len(parsed) != len(texts):
            raise RuntimeError(f"Rasa's graph read {len(parsed)} of {len(texts)} messages")
        raws = []
        for message in parsed:
            raw: dict[str, Any] = {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": []}
            raw.update(message.as_dict(only_output_properties=True))
            _add_full_retrieval_intent(raw)
            raws.append(raw)
        return raws

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        """Understand one message without blocking the running loop (work runs in a thread);
        messages that wait meanwhile are read together in the next run (bot/nlu/batching.py)."""
        return await self._batchers.get(None).aparse(text)

    def close(self) -> None:
        """Nothing to release (the graph runs in the caller's thread); kept for the routers."""

    def _to_parse(self, text: str, raw: Mapping[str, Any]) -> Parse:
        intent = raw.get("intent") or {}
        name = intent.get("name") or FALLBACK_INTENT
        confidence = float(intent.get("confidence") or 0.0)
        # out_of_scope (an internal intent: greetings, off-topic, gibberish) is not one of the
        # public intents either: the bot answers it as not understood
        if name not in INTENTS or confidence < self._threshold:
            name = FALLBACK_INTENT
        ranking = tuple((str(item["name"]), float(item["confidence"]))
                        for item in raw.get("intent_ranking") or ()
                        if item.get("name") in INTENTS or item.get("name") == FALLBACK_INTENT)
        entities = _entities(raw.get("entities") or ())
        if self._keyword_fallback:
            name = _problem_first(name, text[:MAX_CHARS])
            entities = _with_keyword_entities(name, text[:MAX_CHARS], entities)
        return Parse(text=text, intent=name, confidence=confidence, entities=entities,
                     ranking=ranking)


def _add_full_retrieval_intent(raw: dict[str, Any]) -> None:
    """As Rasa's `MessageProcessor._update_full_retrieval_intent`: a retrieval intent's reading
    names its full intent (`faq/ask_price`) from the response selector's output, when the
    pipeline has one."""
    intent = raw.get("intent") or {}
    selector = raw.get("response_selector") or {}
    name = intent.get("name")
    if name and name in selector.get("all_retrieval_intents", []):
        intent["full_retrieval_intent_name"] = selector.get(name, {}).get("response", {}).get("intent_response_key")


# Readings a problem cue overrides (bot/nlu/cues.py: a problem named in words, negation-aware):
# a reply that names a problem is never praise, yes or thanks ("la padella si è arrugginita"
# read as works_well). Chosen by cross-validation on the writers' training lines
# (docs/nlu-independent.md).
CUE_OVERRIDES = frozenset({"works_well", "affirm", "thanks"})


def _problem_first(intent: str, text: str) -> str:
    """The problem a happy reading's words name, as its problem intent; else `intent`."""
    if intent not in CUE_OVERRIDES:
        return intent
    cue = problem_cue(text)
    if cue is None:
        return intent
    return "delivery_problem" if cue in DELIVERY_PROBLEMS else "product_problem"


def _with_keyword_entities(intent: str, text: str,
                           entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """The fallback after the model: a score or a problem type the CRF missed, found by the
    keyword rules below (measured apart: `aftercare nlu test --no-keyword-fallback`)."""
    if not any(e.entity == "rating" for e in entities):
        stated = rating_of(text)
        if stated:
            entities += (Entity("rating", stated),)
    if intent in _PROBLEM_INTENTS and not any(e.entity == "problem_type" for e in entities):
        guessed = problem_type_of(text)
        if guessed:
            entities += (Entity("problem_type", guessed),)
    if intent in _PROBLEM_INTENTS and not any(e.entity == "request" for e in entities):
        asked = asked_for(text)
        if asked:
            entities += (Entity("request", asked),)
    return entities


_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class LoadedModel:
    """A model archive loaded for prediction: its metadata and the graph runner that reads a
    message, what Rasa's `Agent.load` builds inside its `MessageProcessor`, without the
    agent's tracker store, lock store and scheduler (and their imports: ~0.6 s of a start)."""

    metadata: Any           # rasa.engine.storage.storage.ModelMetadata
    runner: Any             # a GraphRunner: `run(inputs, targets)`

    @classmethod
    def of_agent(cls, agent: Any) -> "LoadedModel":
        """The model inside a Rasa `Agent` (to compare with Rasa's own load)."""
        return cls(agent.processor.model_metadata, agent.processor.graph_runner)


def _load_model(path: Path) -> LoadedModel:
    """What `Agent.load` loads, three times as fast and ~25 MB lighter per model.

    Rasa rebuilds each TensorFlow model by fitting it on one example before loading the
    weights: tracing that training step was most of the load time, and the step leaves the
    Adam optimizer's state behind (two more copies of every weight, and its gradients), which
    a model that only predicts never uses. Here the model is built by one eager forward pass
    of the same loss on the same example instead: the same layers, the same variables, no
    optimizer state; the weights are then read from the archive as before, so every
    prediction is the same (checked on every language's held-out set:
    tests/nlu/test_model_load.py). The models are switched back to graph mode before the first
    prediction. The archive is read from its unpacked folder (bot/nlu/unpacked.py), the
    entity CRF's fit from its cache (bot/nlu/crf_cache.py), and the Rasa modules a prediction
    never runs are left for their first use (bot/nlu/deferred_imports.py). Any surprise in
    Rasa's internals falls back to the plain load."""
    defer_unused_rasa()
    try:
        model = _load_model_fast(path)
    except Exception:  # noqa: BLE001 - Rasa internals changed: the slow, public way
        log.warning("fast model load failed; loading the usual way", exc_info=True)
        from rasa.core.agent import Agent

        model = LoadedModel.of_agent(Agent.load(str(path)))
    _batch_diet(model)
    return model


def _batch_diet(model: LoadedModel) -> None:
    """DIET predicts a batch of messages in one TensorFlow call (bot/nlu/diet_batch.py)
    instead of Rasa's one call per message, and the count-vector featurizers featurize it in
    one sklearn call each (bot/nlu/count_batch.py); the trained model is untouched."""
    from bot.nlu import count_batch, diet_batch

    nodes = list(_nodes(model))
    for batched, what in ((diet_batch, "DIET's predictions"), (count_batch, "the count-vector features")):
        try:
            batched.use_batched_process(nodes)
        except Exception:  # noqa: BLE001 - Rasa internals changed: its own loop stays
            log.warning("could not batch %s; one message at a time", what, exc_info=True)


def _load_model_fast(path: Path) -> LoadedModel:
    """`rasa.engine.loader.load_predict_graph_runner`, as `Agent.load` calls it, with the
    patches `_load_model` describes."""
    from rasa.engine.loader import load_predict_graph_runner
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.utils.tensorflow.models import RasaModel

    with _LOAD_LOCK:
        inherited = RasaModel.compile

        def compile_eagerly(self: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["run_eagerly"] = True
            return inherited(self, *args, **kwargs)

        with _patched(RasaModel, compile=compile_eagerly, fit=_build_weights), crf_fitted_once(path.parent), \
                loading_unpacked(), tempfile.TemporaryDirectory(prefix="aftercare-model-") as storage:
            metadata, runner = load_predict_graph_runner(Path(storage), path, LocalModelStorage, DaskGraphRunner)
    model = LoadedModel(metadata, _InOrderRunner(runner))
    for component in _components(model):
        tf_model = getattr(component, "model", None)
        if isinstance(tf_model, RasaModel):
            tf_model.run_eagerly = False  # predictions run as a traced graph again
            tf_model._tf_predict_step = _GraphPredict(tf_model)
    return model


@contextlib.contextmanager
def _patched(cls: type, **methods: Any) -> Iterator[None]:
    """`cls` with `methods` in place for the block; its own (or inherited) ones afterwards."""
    originals = {name: cls.__dict__.get(name) for name in methods}
    for name, method in methods.items():
        setattr(cls, name, method)
    try:
        yield
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)


def _build_weights(model: Any, x: Any = None, *args: Any, **kwargs: Any) -> None:
    """Stands in for `RasaModel.fit` while a model loads: Rasa fits one epoch on an example
    only so that Keras creates every variable at its trained size; one forward pass of the
    training loss on the example's first batch creates the same ones, without the gradients
    and the optimizer's slots a training step adds."""
    batch_in, _ = x[0]  # Rasa's RasaBatchDataGenerator: (inputs, no targets)
    model._training = True  # the training graph: every layer the loss touches is built
    try:
        model.batch_loss(batch_in)
    finally:
        model._training = None


class _GraphPredict:
    """Rasa's predict step as a TensorFlow graph traced without autograph: Rasa's predict
    code has no tensor-dependent Python branches, so the graph is the same, and tracing takes
    a tenth of the time (autograph's source rewriting was most of the first parse). Falls
    back to autograph if tracing without it fails.

    Once traced, the graph is called as its one concrete function with the batch converted
    to the signature's tensors: `tf.function`'s own call matched the batch against the
    signature again at every parse (~1 ms of the ~2.5 ms this call took). A batch that does
    not fit the signature goes through `tf.function`, which says why."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.eager = False              # until traced: run the predict step op by op
        self._function: Any = None
        self._concrete: Any = None
        self._specs: list[Any] = []
        self._fits: list[tuple[Any, Optional[tuple[Optional[int], ...]]]] = []   # per spec: numpy dtype, sizes
        self._ndarray: Any = None
        self._tf: Any = None

    @property
    def traced(self) -> bool:
        return self._function is not None

    def __call__(self, batch: Any) -> Any:
        if self._concrete is not None and len(batch) == len(self._specs):
            tensors = self._tensors(batch)
            if tensors is not None:
                return self._concrete._call_flat(tensors, self._concrete.captured_inputs)
        if self._function is not None:
            return self._function(batch)
        if self.eager:
            return self._model.predict_step(batch)
        import tensorflow as tf

        signature = self._model._dynamic_signature(batch)  # any sequence length, no retrace
        try:
            function = tf.function(self._model.predict_step, input_signature=signature,
                                   autograph=False)
            result = function(batch)
        except Exception:  # noqa: BLE001
            log.warning("tracing without autograph failed; using autograph", exc_info=True)
            function = tf.function(self._model.predict_step, input_signature=signature)
            result = function(batch)
        self._function = function
        try:
            self._concrete = function.get_concrete_function(*signature)
            self._specs, self._tf = list(signature[0]), tf
            self._fits = [(spec.dtype.as_numpy_dtype, None if spec.shape.rank is None else tuple(spec.shape.as_list()))
                          for spec in self._specs]
            import numpy

            self._ndarray = numpy.ndarray
        except Exception:  # noqa: BLE001 - TensorFlow internals changed: tf.function's call
            log.warning("no concrete predict function; calling tf.function", exc_info=True)
        return result

    def _tensors(self, batch: Any) -> Optional[list[Any]]:
        """The batch as the concrete function's input tensors; None when a value does not fit
        its spec. Numpy arrays of the spec's dtype, rank and known sizes (what Rasa's batches
        are) are checked on the numpy side and made tensors by `tf.constant` (the same tensor
        `tf.convert_to_tensor` makes); the dispatch of `convert_to_tensor` and `TensorSpec.
        is_compatible_with` cost ~0.1 ms a tensor, eight a batch. Anything else: those two."""
        tensors = []
        for value, (dtype, sizes) in zip(batch, self._fits):
            if not (isinstance(value, self._ndarray) and value.dtype == dtype and _fits(value.shape, sizes)):
                return self._converted(batch)
            tensors.append(self._tf.constant(value))
        return tensors

    def _converted(self, batch: Any) -> Optional[list[Any]]:
        tensors = [self._tf.convert_to_tensor(value, dtype=spec.dtype) for value, spec in zip(batch, self._specs)]
        if all(spec.is_compatible_with(tensor) for spec, tensor in zip(self._specs, tensors)):
            return tensors
        return None


def _fits(shape: tuple[int, ...], sizes: Optional[tuple[Optional[int], ...]]) -> bool:
    """True when an array's shape has a TensorSpec's rank and known sizes (None: any shape)."""
    if sizes is None:
        return True
    return len(shape) == len(sizes) and all(size is None or size == n for size, n in zip(sizes, shape))


class _InOrderRunner:
    """Rasa's prediction graph run node after node in this thread, in place of its
    `DaskGraphRunner`: the graph is a short chain (tokenizer, featurizers, classifiers), and
    dask's scheduler, rebuilt for every message, was ~15% of a parse. The same nodes get the
    same inputs (each parent's `(name, output)`), and the result is the same dict."""

    def __init__(self, runner: Any) -> None:
        self.inner = runner             # Rasa's runner: its nodes, its schema
        self._runner = runner
        self._plans: dict[tuple[str, ...], list[tuple[str, Any, tuple[str, ...]]]] = {}

    def run(self, inputs: Optional[Mapping[str, Any]] = None,
            targets: Optional[Sequence[str]] = None) -> dict[str, Any]:
        wanted = tuple(targets or self._runner._graph_schema.target_names)
        plan = self._plans.get(wanted)
        if plan is None:
            plan = self._plans[wanted] = self._plan(wanted)
        done: dict[str, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
        for name, node, needs in plan:
            # as dask: a parent that is neither a node nor an input is passed as its name
            done[name] = node(*(done.get(parent, parent) for parent in needs))
        return dict(done[target] for target in wanted)

    def _plan(self, targets: tuple[str, ...]) -> list[tuple[str, Any, tuple[str, ...]]]:
        from graphlib import TopologicalSorter

        schema = self._runner._graph_schema.minimal_graph_schema(list(targets))
        nodes = self._runner._instantiated_nodes
        needs = {name: tuple(node.needs.values()) for name, node in schema.nodes.items()}
        order = TopologicalSorter({name: [p for p in parents if p in needs]
                                   for name, parents in needs.items()}).static_order()
        return [(name, nodes[name], needs[name]) for name in order]


def _nodes(model: LoadedModel) -> list[Any]:
    """The graph's instantiated nodes (Rasa 3.6 internals; it is the last open-source release)."""
    runner = model.runner
    return list(getattr(runner, "inner", runner)._instantiated_nodes.values())


def _components(model: LoadedModel) -> list[Any]:
    """The loaded graph components."""
    return [node._component for node in _nodes(model) if getattr(node, "_component", None)]


_EDGE_PUNCTUATION = re.compile(r"^[^\w#@&]+|[^\w#@&]+$")  # as Rasa's WhitespaceTokenizer
_NUMBER = re.compile(r"\b[0-9]+\b")  # CountVectorsFeaturizer sees every number as one token


def familiarity(text: str, vocabulary: frozenset[str]) -> float:
    """Share of the text's character trigrams (per word, as char_wb makes them) seen in
    training; 1.0 when no vocabulary is known, so the guard never blocks by accident."""
    if not vocabulary:
        return 1.0
    # like Rasa: punctuation at word edges goes, a text of only symbols stays one token,
    # and numbers, order numbers, amounts, dates and e-mails are one feature each (as the
    # ShapeTokenizer makes them), so "5/5" or a new order number is not a stranger
    words = [w for w in (_EDGE_PUNCTUATION.sub("", w) for w in text.lower().split()) if w]
    words = [_NUMBER.sub("__number__", w) for w in shaped_words(words or [text.lower()])]
    grams = [padded[i:i + NGRAM] for word in words
             for padded in (f" {word} ",) for i in range(len(padded) - NGRAM + 1)]
    if not grams:
        return 0.0
    return sum(gram in vocabulary for gram in grams) / len(grams)


def _trained_ngrams(model: LoadedModel) -> frozenset[str]:
    """The trigrams of the char_wb CountVectorsFeaturizer, if the pipeline has one; any
    surprise in Rasa's internals only disables the guard."""
    try:
        for component in _components(model):
            if getattr(component, "analyzer", None) == "char_wb":
                vocabulary = component.vectorizers["text"].vocabulary_
                return frozenset(gram for gram in vocabulary if len(gram) == NGRAM)
    except Exception:  # noqa: BLE001 - an optional safety net, never a load failure
        log.warning("could not read the trained vocabulary; unfamiliar-text guard is off")
    return frozenset()


def trained_words(parser: "RasaParser") -> frozenset[str]:
    """The word vocabulary of the model's word-level CountVectorsFeaturizer (empty if none):
    which language a message is in shows best in its whole words."""
    try:
        for component in _components(parser.model):
            if getattr(component, "analyzer", None) == "word":
                return frozenset(component.vectorizers["text"].vocabulary_)
    except Exception:  # noqa: BLE001 - routing then falls back to trigrams alone
        log.warning("could not read the trained word vocabulary")
    return frozenset()


def load_parser(settings: NluSetup) -> RasaParser:
    """The parser for the current data and pipeline; never trains."""
    path = model_path(settings)
    if not path.exists():
        raise ModelNotTrainedError(
            f"no trained NLU model matches {settings.training_data.name} and the pipeline "
            f"(expected {path}); run `aftercare nlu train` first")
    return RasaParser.load(path, settings.confidence_threshold)


def clean_text(text: str) -> str:
    """Trim, cut to MAX_CHARS and drop control characters that mean nothing to the model."""
    text = "".join(ch if ch.isprintable() else " " for ch in (text or "")[:MAX_CHARS])
    return " ".join(text.split())


def _entities(raw: Sequence[Mapping[str, Any]]) -> tuple[Entity, ...]:
    """(entity, value) pairs, deduplicated in first-seen order, values as strings."""
    seen: dict[tuple[str, str], None] = {}
    for item in raw:
        name = str(item.get("entity"))
        value = _canonical(name, item.get("value"))
        if value is not None:
            seen[(name, value)] = None
    return tuple(Entity(entity, value) for entity, value in seen)


_NUMBER_WORDS = {word: str(n) for n, word in enumerate(
    "zero one two three four five six seven eight nine ten".split())}
_NUMBER_WORDS.update({word: str(n) for word, n in cue_words.number_words().items()})
# in a sentence, the other languages' "one" is their article ("le doy un ocho"): not a score
_SCORE = r"(10|[0-9]|" + "|".join(sorted((w for w in _NUMBER_WORDS if w not in cue_words.ARTICLES),
                                         key=len, reverse=True)) + r")"
# A score said in a sentence, for when the model missed it ("I'd give it a 4", "7 stars",
# "nota dez"); matched on folded text (bot/nlu/cue_words.py).
_RATING_CUES = tuple(re.compile(pattern) for pattern in (
    r"^\s*" + _SCORE + r"\s*[!.]*\s*$",
    r"\b" + _SCORE + r"\s*(?:/|out of)\s*(?:5|10|five|ten)\b",
    r"\b" + _SCORE + r"\s+stars?\b",
    r"\b(?:give|giving|rate|rating|score|say)\b(?: it| them| this| that)?(?: an?| a solid)?\s+"
    + _SCORE + r"\b(?!\s*(?:day|week|month|year|hour|time|minute)s?\b)",
    *(cue.replace("{score}", _SCORE) for cues in cue_words.RATING_CUES.values() for cue in cues),
))


def rating_of(text: str) -> str | None:
    """A score stated in words or digits, as a digit string, or None."""
    folded = cue_words.fold(text)
    for cue in _RATING_CUES:
        match = cue.search(folded)
        if match:
            return _NUMBER_WORDS.get(match.group(1), match.group(1))
    return None


def _canonical(entity: str, value: Any) -> str | None:
    """The canonical value the engine expects, or None when Rasa's guess is not one."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if entity == "problem_type":
        return text if text in PROBLEM_TYPES else problem_type_of(text)
    if entity == "request":
        return text if text in REQUESTS else request_of(text)
    if entity == "rating":
        text = _NUMBER_WORDS.get(cue_words.fold(text), text)
        match = re.fullmatch(r"(\d{1,2})(?:\s*(?:/|out of)\s*\d{1,2})?", text)
        return match.group(1) if match else None
    return text or None


# Rasa's synonym mapper only knows the exact spans of the training data; these cues give an
# unseen span ("big dent") or an unannotated problem message its canonical problem type.
# First match wins, so the more specific kinds come first.
_PROBLEM_CUES = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("not_as_described", r"descri|advertis|listing|\blisted|pictures?\b|photos?\b|website|"
                         r"spec sheet|like it says|not real\b|\bfake\b"),
    ("wrong_item", r"\bwrong (item|colou?r|model|one|product|flavou?r|thing|book|version)|"
                   r"not what i (ordered|bought)|\binstead\b|different (item|product|one)|"
                   r"someone else"),
    ("missing_part", r"missing|without (the|a|any)\b|(wasn'?t|not) in the box|not included|"
                     r"\bno (charger|charging|cable|screws|instructions|manual|strap|lid|batter)|"
                     r"\bonly one\b|incomplete"),
    ("size_fit", r"\btoo (small|big|tight|loose|short|long|narrow|wide|large)|\bfits?\b|"
                 r"\bruns? (small|large|big)|narrow|\bsize"),
    ("not_received", r"never (arrived|came|got|showed)|not (received|delivered)|"
                     r"haven'?t (received|got)|(hasn'?t|has not) been delivered|"
                     r"didn'?t (get|arrive|receive)|\blost\b|wrong address|"
                     r"(marked|says) (as )?delivered|nothing (came|arrived)|returned to sender"),
    ("late", r"\blate\b|delay|overdue|still (waiting|not here|no sign|hasn'?t)|"
             r"hasn'?t (arrived|shipped|come)|\bstuck\b|taking (forever|ages)|"
             r"past the (delivery|due)|pushed back|reschedul"),
    ("damaged", r"\bbroken?\b|brokn|crack|\bdent(?:s|ed)?\b|scratch|smash|shatter|ripped|\btorn\b|"
                r"damag|\bbent\b|chipped|snapped|crushed|squashed|soaked"),
    ("defective", r"(doesn'?t|does not|won'?t|wont|isn'?t|not|stopped|don'?t) "
                  r"(work|charg|turn|start|switch|connect|power)|\bdead\b|faulty|defect|leak|"
                  r"came (off|apart|unglued)|fell apart|falling apart|\bdied\b|cutting out|"
                  r"crash|disconnect|flicker|buzz|pixels?\b"),
))
# return_refund too: "it's broken, refund please" keeps what is wrong beside the ask
_PROBLEM_INTENTS = frozenset({"product_problem", "delivery_problem", "return_refund"})


# Every language's cues for one kind join its English ones: the kinds keep their precedence
# whatever the language (bot/nlu/cue_words.py; matched on folded text).
_ALL_PROBLEM_CUES = tuple(
    (kind, re.compile("|".join([english.pattern] + [pattern for cues in cue_words.PROBLEM_CUES.values()
                                                      for other, pattern in cues if other == kind])))
    for kind, english in _PROBLEM_CUES)


def problem_type_of(text: str) -> str | None:
    """The canonical problem type a phrase names, by keyword cues, or None."""
    return _first_cue(_ALL_PROBLEM_CUES, cue_words.fold(text))


def _first_cue(cues: Sequence[tuple[str, re.Pattern[str]]], text: str) -> str | None:
    lowered = text.lower()
    return next((kind for kind, cue in cues if cue.search(lowered)), None)


# The CRF finds the span of an ask ("my money back", "reimbursed"); the synonym mapper knows
# only the spans of the training data, so an unseen span gets its canonical value here.
_REQUEST_CUES = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("refund", r"refund|money|cash|reimburs|rebate|compensat|chargeback|credit"),
    ("replacement", r"replac|new one"),
    ("exchange", r"exchang|swap"),
    ("return", r"return|send (it|them) back"),
    ("repair", r"repair|fix"),
))


def request_of(span: str) -> str | None:
    """The canonical request an entity span names, or None."""
    return _first_cue(_REQUEST_CUES, span)


# A whole message names an ask only in these plain phrases (a span the CRF marked may be looser:
# "money" alone is an ask inside a marked span, not in "a waste of money"). English; the CRF
# finds the other languages' asks. Not after a negation: "I don't want a refund, just a fix".
_ASK_PHRASES = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("refund", r"\brefund|money back|\breimburs"),
    ("replacement", r"\breplacement\b|\breplace (it|them|this|the)\b|\b(a|another) new one\b"),
    ("exchange", r"\bexchange\b|\bswap (it|them|this)\b"),
    ("return", r"\breturn (it|them|this)\b|\bsend (it|them|this) back\b"),
    ("repair", r"\brepair\b|\bfix (it|them|this)\b"),
))
_NEGATED = re.compile(r"\b(no|not|don'?t|dont|never|without)\b[^.!?,;]{0,12}$")


def asked_for(text: str) -> str | None:
    """The request a problem message names in plain words when the CRF marked none, or None."""
    lowered = text.lower()
    for kind, phrase in _ASK_PHRASES:
        match = phrase.search(lowered)
        if match and not _NEGATED.search(lowered[:match.start()]):
            return kind
    return None
