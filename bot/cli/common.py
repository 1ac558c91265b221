"""What every command needs: settings with friendly errors, the store, the NLU model."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.config.settings import ConfigError, Settings
from bot.plugins.manager import Plugins
from bot.store.store import Store


def plugins_of(ctx: click.Context) -> Plugins:
    """This invocation's plugins: given by the caller (`obj={"plugins": ...}`, a test's), else the
    default ones and every installed package's, loaded once."""
    obj = ctx.find_root().ensure_object(dict)
    if "plugins" not in obj:
        obj["plugins"] = Plugins.load()
    return obj["plugins"]


def settings_from(ctx: click.Context) -> Settings:
    """The validated config (every plugin channel's section included), or a clean exit naming
    the file, line and problem."""
    path = ctx.find_root().obj["config_path"]
    try:
        return plugins_of(ctx).load_settings(Path(path))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def open_store(settings: Settings) -> Store:
    return Store.open(settings.resolve(settings.store.path))


def existing_store(settings: Settings) -> Store:
    """The configured store; a missing file is a one-line error and exit code 2 (never a new,
    empty store)."""
    path = Path(settings.resolve(settings.store.path))
    if not path.is_file():
        click.echo(f"error: no store at {path} (set AFTERCARE_DB or store.path in config.yml)", err=True)
        sys.exit(2)
    return open_store(settings)


def load_nlu(settings: Settings, behind: bool = False):
    """The NLU: the shared service's client when config names `nlu.url` (no model, no
    TensorFlow in this process), else the trained models from the cache; never trains (run
    `aftercare nlu train`). `behind`: load the models in the background, the shop's default
    language first (`aftercare run`: it answers before all six are in)."""
    if settings.nlu.url:
        from bot.nlu.remote import RemoteParser

        return RemoteParser(settings.nlu.url, timeout=settings.nlu.timeout, wait=settings.nlu.wait)
    from bot.nlu.languages import load_parser
    from bot.nlu.rasa_nlu import ModelNotTrainedError, load_nlu_settings

    try:
        return load_parser(load_nlu_settings(settings.config_path), behind=behind, on_loaded=freeze_heap if behind else None)
    except ModelNotTrainedError as exc:
        raise click.ClickException(f"{exc} (run `aftercare nlu train` or `make test` first)") from None


def freeze_heap() -> None:
    """Rasa, TensorFlow and the models are ~650,000 objects that live as long as the process:
    out of the garbage collector's sight, a full collection no longer stalls a reply by
    walking them all."""
    import gc

    gc.collect()
    gc.freeze()
