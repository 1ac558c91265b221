"""The entity CRF of a model, fitted once instead of at every load.

Rasa 3.6's CRFEntityExtractor keeps only its training features in the model archive and fits
the CRF again each time the model loads: 0.4-0.8 s of CPU per language, on the path to a
bot's first reply. crfsuite's L-BFGS fit is deterministic (the same features and settings
give the same model file, byte for byte), so the fitted taggers are kept beside the models,
keyed by a digest of everything the fit reads, and read back in a millisecond; readable by
whoever may read the models folder (the release's owner fills it, the services' users read it).
A folder that cannot be written (a read-only release) only means the fit runs as before.

Reading the features back was still ~0.4 s of a load (Rasa parses the 3 MB JSON of training
tokens and builds a token object for each before it asks for the fit), so the taggers are
also kept under a digest of those files' bytes: a load that finds them there reads neither.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)

CACHE_DIR = ".crf-cache"
_FIT_KEYS = ("features", "L1_c", "L2_c", "max_iterations", "BILOU_flag")


def cache_key(dataset: Any, config: dict[str, Any], crf_order: list[str]) -> str:
    """A digest of what the fit reads: the training tokens, the CRF settings and the tag
    order, and the crfsuite version (whose model file is read back)."""
    digest = hashlib.sha256()
    settings = {key: config.get(key) for key in _FIT_KEYS}
    digest.update(json.dumps([settings, list(crf_order), _crfsuite_version()], sort_keys=True).encode())
    for sentence in dataset:
        digest.update(json.dumps([token.to_dict() for token in sentence], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


def files_key(dataset: bytes, order: bytes, config: dict[str, Any]) -> str:
    """A digest of what Rasa's load reads before the fit (the archive's crf_dataset.json and
    crf_order.json, byte for byte), the CRF settings and the crfsuite version."""
    digest = hashlib.sha256()
    settings = {key: config.get(key) for key in _FIT_KEYS}
    digest.update(json.dumps([settings, _crfsuite_version()], sort_keys=True).encode())
    for part in (dataset, order):
        digest.update(hashlib.sha256(part).digest())
    return "files-" + digest.hexdigest()[:32]


def _crfsuite_version() -> str:
    """python-crfsuite writes the model file, sklearn-crfsuite's CRF is what is pickled."""
    versions = []
    for name in ("python-crfsuite", "sklearn-crfsuite"):
        try:
            versions.append(metadata.version(name))
        except metadata.PackageNotFoundError:  # pragma: no cover - Rasa installs both
            versions.append("?")
    return "/".join(versions)


def cached_fit(folder: Path, fit: Callable[..., Any]) -> Callable[..., Any]:
    """`fit` (CRFEntityExtractor.train_model's function) reading and writing the cache in `folder`."""
    def train_model(cls: type, dataset: Any, config: dict[str, Any], crf_order: list[str]) -> Any:
        path = folder / CACHE_DIR / f"{cache_key(dataset, config, crf_order)}.pickle"
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            return pickle.loads(path.read_bytes())
        taggers = fit(cls, dataset, config, crf_order)
        _write(path, taggers)
        return taggers
    return train_model


def cached_load(folder: Path, load: Callable[..., Any]) -> Callable[..., Any]:
    """`load` (CRFEntityExtractor.load's function) taking the fitted taggers from the cache in
    `folder` by the digest of the archive's files, without reading the training tokens; on a
    miss, Rasa's own load (its fit through `cached_fit`), whose taggers are then kept."""
    def load_extractor(cls: type, config: dict[str, Any], model_storage: Any, resource: Any,
                       execution_context: Any, **kwargs: Any) -> Any:
        try:
            with model_storage.read_from(resource) as model_dir:
                dataset = (Path(model_dir) / "crf_dataset.json").read_bytes()
                order = (Path(model_dir) / "crf_order.json").read_bytes()
        except (ValueError, OSError):       # no such resource: Rasa's load says so
            return load(cls, config, model_storage, resource, execution_context, **kwargs)
        path = folder / CACHE_DIR / f"{files_key(dataset, order, config)}.pickle"
        taggers = None
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            taggers = pickle.loads(path.read_bytes())
        if taggers is None:
            extractor = load(cls, config, model_storage, resource, execution_context, **kwargs)
            if extractor.entity_taggers is not None:
                _write(path, extractor.entity_taggers)
            return extractor
        # what Rasa 3.6's CRFEntityExtractor.load builds from the taggers its fit returns
        extractor = cls(config, model_storage, resource, taggers)
        extractor.crf_order = json.loads(order)
        return extractor
    return load_extractor


def _write(path: Path, taggers: Any) -> None:
    """Atomically, or not at all (another process may write the same file meanwhile)."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".crf-", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(taggers, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(temporary, path.parent.parent.stat().st_mode & 0o444)     # mkstemp's is 0600
        os.replace(temporary, path)
    except OSError as exc:
        log.debug("the fitted CRF was not cached in %s: %s", path.parent, exc)
        with contextlib.suppress(NameError, OSError):
            os.unlink(temporary)


@contextlib.contextmanager
def crf_fitted_once(folder: Path) -> Iterator[None]:
    """While a model loads: Rasa's CRF fit goes through the cache in `folder`."""
    from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor

    inherited = CRFEntityExtractor.__dict__["train_model"]
    inherited_load = CRFEntityExtractor.__dict__["load"]
    CRFEntityExtractor.train_model = classmethod(cached_fit(folder, inherited.__func__))
    CRFEntityExtractor.load = classmethod(cached_load(folder, inherited_load.__func__))
    try:
        yield
    finally:
        CRFEntityExtractor.train_model = inherited
        CRFEntityExtractor.load = inherited_load
