"""The flow vocabulary a deployment runs with: the built-ins plus the shop's own modules.

`config.yml`'s `vocabulary:` names Python modules (a dotted name on the path, or a `.py` file
taken relative to config.yml), each with a `register(vocabulary)` function, the way datasette
loads plugins. The bot, `aftercare flows check` and `aftercare flows vocabulary` all load the
flows through here, so they agree on what a flow may say.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Optional

from bot.config.settings import ConfigError, Settings
from bot.engine.builtins import default_vocabulary
from bot.engine.flows import FlowSet
from bot.flowfiles import load_flows
from bot.engine.vocabulary import Vocabulary, VocabularyError
from bot.base.yamlsource import SourceError, load_yaml


def load_vocabulary(settings: Settings, base: Optional[Vocabulary] = None) -> Vocabulary:
    """`base` (the plugins' vocabulary; the built-ins when None), then each configured module's
    entries; ConfigError names the bad entry."""
    vocabulary = base if base is not None else default_vocabulary()
    for index, name in enumerate(settings.vocabulary):
        try:
            module = _import(name, settings)
            register = getattr(module, "register", None)
            if not callable(register):
                raise ValueError("has no `register(vocabulary)` function")
            register(vocabulary)
        except (ImportError, OSError, ValueError, VocabularyError) as exc:
            raise ConfigError(settings.config_path, _line(settings, index),
                              f"vocabulary.{index}: {name!r}: {exc}") from None
    return vocabulary


def load_shop_flows(settings: Settings, folder: Optional[Path | str] = None,
                    base: Optional[Vocabulary] = None) -> FlowSet:
    """dialogs/ (or `folder`) checked against the deployment's vocabulary (`base` plus the shop's modules)."""
    return load_flows(folder or settings.resolve(settings.dialogs_dir), load_vocabulary(settings, base))


def _import(name: str, settings: Settings) -> ModuleType:
    if not name.endswith(".py"):
        return importlib.import_module(name)
    path = settings.resolve(name)
    spec = importlib.util.spec_from_file_location(f"aftercare_vocabulary_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _line(settings: Settings, index: int) -> Optional[int]:
    try:
        return load_yaml(settings.config_path).line_of(["vocabulary", index])
    except SourceError:
        return None
