"""config.yml read from disk, with the process environment: the file side of the settings
(bot/config/settings.py validates what is read, and reads no file)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional

from bot.base.yamlsource import SourceError, load_yaml
from bot.config.settings import ChannelModels, ConfigError, Settings, settings_from


def load_settings(path: Path | str = "config.yml",
                  environ: Optional[Mapping[str, str]] = None,
                  overrides: Optional[Mapping[str, Any]] = None, *,
                  channels: Optional[ChannelModels] = None, anchors: Optional[Mapping[str, Any]] = None) -> Settings:
    """Read `path`, substitute ${ENV} references (from `environ`, else this process's), validate.
    Raises ConfigError(file, line, reason); see `settings_from` for `channels` and `anchors`."""
    path = Path(path)
    try:
        doc = load_yaml(path)
    except SourceError as exc:
        raise ConfigError(exc.path, exc.line, exc.reason) from exc
    return settings_from(doc, os.environ if environ is None else environ, overrides,
                         channels=channels, anchors=anchors)
