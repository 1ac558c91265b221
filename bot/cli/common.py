"""What every command needs: settings with friendly errors, the store, the NLU model."""
from __future__ import annotations

from pathlib import Path

import click

from bot.config import ConfigError, Settings, load_settings
from bot.store.store import Store


def settings_from(ctx: click.Context) -> Settings:
    """The validated config, or a clean exit naming the file, line and problem."""
    path = ctx.find_root().obj["config_path"]
    try:
        return load_settings(Path(path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def open_store(settings: Settings) -> Store:
    return Store.open(settings.resolve(settings.store.path))


def load_nlu(settings: Settings):
    """The trained Rasa model from the cache; never trains (run `aftercare nlu train`)."""
    from bot.nlu.languages import load_parser
    from bot.nlu.rasa_nlu import ModelNotTrainedError, load_nlu_settings

    try:
        return load_parser(load_nlu_settings(settings.config_path))
    except ModelNotTrainedError as exc:
        raise click.ClickException(f"{exc} (run `aftercare nlu train` or `make test` first)") from None
