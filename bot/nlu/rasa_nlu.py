"""Rasa Open Source 3.6 behind the `Parser` interface: train under a cache key, load once, parse.

Rasa is imported lazily (it costs about 5 s and prints on import unless telemetry is off), so
`aftercare --help` stays fast and nothing reaches stdout that would break `nlu parse`.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from bot.nlu.base import FALLBACK_INTENT, INTENTS, PROBLEM_TYPES, Entity, Parse

MAX_CHARS = 1000  # longer messages are cut before parsing: latency stays flat, meaning is kept
TRAINING_DATA = "data/nlu.yml"
TEST_DATA = "data/nlu_test.yml"
# Bump when the generated Rasa config changes shape, so old cached models are not reused.
_TEMPLATE_VERSION = 1
_QUIET_LOGGERS = ("rasa", "tensorflow", "absl", "h5py", "matplotlib", "sanic", "urllib3")

log = logging.getLogger(__name__)


class ModelNotTrainedError(Exception):
    """No cached model matches the current training data and pipeline."""


@dataclass(frozen=True)
class NluSettings:
    """The `nlu:` section of config.yml with paths made absolute."""

    model_dir: Path
    confidence_threshold: float
    language: str
    pipeline: list[dict[str, Any]]
    training_data: Path
    test_data: Path
    extra: Mapping[str, Any] = field(default_factory=dict)


def load_nlu_settings(config_path: Path | str = "config.yml") -> NluSettings:
    """Read the NLU settings; paths are relative to the config file's folder."""
    config_path = Path(config_path).resolve()
    base = config_path.parent
    section = _nlu_section(config_path)

    def resolve(value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else base / path

    return NluSettings(
        model_dir=resolve(section.get("model_dir", "models")),
        confidence_threshold=float(section.get("confidence_threshold", 0.55)),
        language=str(section.get("language", "en")),
        pipeline=list(section.get("pipeline") or []),
        training_data=resolve(TRAINING_DATA),
        test_data=resolve(TEST_DATA),
    )


def _nlu_section(config_path: Path) -> dict[str, Any]:
    """The `nlu:` mapping, through the validated config loader when it is there."""
    try:
        from bot.config import load_settings
    except ImportError:  # the config module has not landed: read the section directly
        import yaml

        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        return dict(data.get("nlu") or {})
    nlu = load_settings(config_path).nlu
    return {"model_dir": nlu.model_dir, "confidence_threshold": nlu.confidence_threshold,
            "language": nlu.language, "pipeline": nlu.pipeline}


# ---- cache key and model location ------------------------------------------------------

def rasa_version() -> str:
    """The installed Rasa version, without importing Rasa."""
    return metadata.version("rasa")


def cache_key(training_data: Path, pipeline: Sequence[Mapping[str, Any]], language: str,
              version: str | None = None) -> str:
    """sha256 of the training file's bytes, the pipeline and language, and Rasa's version."""
    recipe = json.dumps(
        {"language": language, "pipeline": list(pipeline), "rasa": version or rasa_version(),
         "template": _TEMPLATE_VERSION},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(Path(training_data).read_bytes()).digest())
    digest.update(recipe.encode("utf-8"))
    return digest.hexdigest()


def model_path(settings: NluSettings) -> Path:
    """Where the model for the current data and pipeline lives (it may not exist yet)."""
    key = cache_key(settings.training_data, settings.pipeline, settings.language)
    return settings.model_dir / f"nlu-{key[:16]}.tar.gz"


def rasa_config(settings: NluSettings) -> dict[str, Any]:
    """The config handed to Rasa: NLU only, no policies, nothing left for Rasa to fill in."""
    return {"recipe": "default.v1", "assistant_id": "aftercare-nlu",
            "language": settings.language, "pipeline": settings.pipeline, "policies": []}


# ---- environment -----------------------------------------------------------------------

def prepare_environment(model_dir: Path) -> None:
    """Quiet Rasa and TensorFlow and keep Rasa's cache under the model folder; before import."""
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path(model_dir) / ".rasa-cache"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    _quiet_structlog()


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
def _stdout_to_stderr() -> Iterator[None]:
    """Rasa prints some messages with print(); keep stdout for our own output."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


# ---- training --------------------------------------------------------------------------

def train(settings: NluSettings, force: bool = False,
          progress: Callable[[str], None] | None = None) -> Path:
    """Train unless a model for this exact data and pipeline exists; return its path."""
    say = progress or (lambda message: None)
    target = model_path(settings)
    if target.exists() and not force:
        say(f"model up to date: {target}")
        return target
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    prepare_environment(settings.model_dir)
    say(f"training the NLU model on {settings.training_data.name} (about 2 min) ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".train-", dir=settings.model_dir) as tmp:
        config_file = Path(tmp) / "config.yml"
        # JSON is YAML; Rasa may rewrite this file, which is why it is a throwaway copy.
        config_file.write_text(json.dumps(rasa_config(settings), indent=2), encoding="utf-8")
        with _stdout_to_stderr():
            from rasa.model_training import train_nlu

            built = train_nlu(config=str(config_file), nlu_data=str(settings.training_data),
                              output=tmp, fixed_model_name="model",
                              # --force also skips Rasa's per-component training cache
                              additional_arguments={"force_full_training": force})
        if not built or not Path(built).exists():
            raise RuntimeError(f"Rasa did not produce a model from {settings.training_data}")
        os.replace(built, target)  # atomic: a reader never sees half a model
    say(f"trained in {time.monotonic() - started:.0f} s: {target}")
    return target


# ---- parsing ---------------------------------------------------------------------------

class RasaParser:
    """A loaded Rasa model. `parse` for threads without a loop, `aparse` inside one."""

    def __init__(self, agent: Any, confidence_threshold: float) -> None:
        self._agent = agent
        self._threshold = confidence_threshold
        self._lock = threading.Lock()  # one graph run at a time, from any thread
        self._loop = asyncio.new_event_loop()  # private: never the caller's loop

    @classmethod
    def load(cls, path: Path, confidence_threshold: float) -> "RasaParser":
        """Load a model archive (seconds: do it once per process)."""
        prepare_environment(Path(path).parent)
        with _stdout_to_stderr():
            from rasa.core.agent import Agent

            agent = Agent.load(str(path))
        parser = cls(agent, confidence_threshold)
        parser.parse("hello")  # warm up TensorFlow so the first real message is fast
        return parser

    def parse(self, text: str) -> Parse:
        """Understand one message; safe from any thread that is not running an event loop."""
        clean = _clean(text)
        if not clean:
            return Parse(text=text, intent=FALLBACK_INTENT, confidence=0.0)
        with self._lock:
            raw = self._loop.run_until_complete(self._agent.parse_message(clean))
        return self._to_parse(text, raw)

    async def aparse(self, text: str) -> Parse:
        """Understand one message without blocking the running loop (work runs in a thread)."""
        return await asyncio.to_thread(self.parse, text)

    def close(self) -> None:
        """Release the private event loop."""
        self._loop.close()

    def _to_parse(self, text: str, raw: Mapping[str, Any]) -> Parse:
        intent = raw.get("intent") or {}
        name = intent.get("name") or FALLBACK_INTENT
        confidence = float(intent.get("confidence") or 0.0)
        if name not in INTENTS or confidence < self._threshold:
            name = FALLBACK_INTENT
        ranking = tuple((str(item["name"]), float(item["confidence"]))
                        for item in raw.get("intent_ranking") or ())
        return Parse(text=text, intent=name, confidence=confidence,
                     entities=_entities(raw.get("entities") or ()), ranking=ranking)


def load_parser(settings: NluSettings) -> RasaParser:
    """The parser for the current data and pipeline; never trains."""
    path = model_path(settings)
    if not path.exists():
        raise ModelNotTrainedError(
            f"no trained NLU model matches {settings.training_data.name} and the pipeline "
            f"(expected {path}); run `aftercare nlu train` first")
    return RasaParser.load(path, settings.confidence_threshold)


def _clean(text: str) -> str:
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


def _canonical(entity: str, value: Any) -> str | None:
    """The canonical value the engine expects, or None when Rasa's guess is not one."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if entity == "problem_type":
        return text if text in PROBLEM_TYPES else None
    if entity == "rating":
        text = _NUMBER_WORDS.get(text, text)
        match = re.fullmatch(r"(\d{1,2})(?:\s*(?:/|out of)\s*\d{1,2})?", text)
        return match.group(1) if match else None
    return text or None
