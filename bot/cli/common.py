"""What every command needs: settings with friendly errors, the store, the NLU model."""
from __future__ import annotations

from pathlib import Path

import click

from bot.config.settings import ConfigError, Settings
from bot.plugins.manager import Plugins
from bot.store.store import Store

# The exit codes of every command (README, "Exit codes").
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_ROWS_SKIPPED = 0, 1, 2, 3


def plugins_of(ctx: click.Context) -> Plugins:
    """This invocation's plugins: given by the caller (`obj={"plugins": ...}`, a test's), else the
    default ones and every installed package's, loaded once."""
    obj = ctx.find_root().ensure_object(dict)
    if "plugins" not in obj:
        obj["plugins"] = Plugins.load()
    return obj["plugins"]


def settings_from(ctx: click.Context) -> Settings:
    """The validated config (every plugin channel's section included), or a clean exit naming
    the file, line and problem. The global `--db FILE` replaces `store.path` (relative to the
    working directory, as typed)."""
    root = ctx.find_root().obj
    try:
        settings = plugins_of(ctx).load_settings(Path(root["config_path"]))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if root.get("db_path"):
        store = settings.store.copy(update={"path": str(Path(root["db_path"]).resolve())})
        settings = settings.copy(update={"store": store})
    return settings


def open_store(settings: Settings) -> Store:
    return Store.open(settings.resolve(settings.store.path))


def store_path(settings: Settings) -> Path:
    return Path(settings.resolve(settings.store.path))


def existing_store(settings: Settings) -> Store:
    """The configured store, for a command that reads: a missing file is a failure (exit 1) in
    one line, never a new, empty store."""
    path = store_path(settings)
    if not path.is_file():
        raise click.ClickException(f"no store at {path} (give --db FILE, or set AFTERCARE_DB or store.path)")
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
    from bot.nlu.rasa_nlu import ModelNotTrainedError, nlu_settings

    try:
        # the settings already read (config.yml is not read and validated a second time)
        return load_parser(nlu_settings(settings), behind=behind, on_loaded=freeze_heap if behind else None)
    except ModelNotTrainedError as exc:
        raise click.ClickException(f"{exc} (run `aftercare nlu train` or `make test` first)") from None
    except OSError as exc:           # data/ is read relative to the config's folder
        raise click.ClickException(f"cannot read the NLU training data {exc.filename} ({exc.strerror}): keep "
                                   "config.yml in the install folder beside data/ (secrets come from the "
                                   "environment)") from None


def freeze_heap() -> None:
    """Rasa, TensorFlow and the models are ~650,000 objects that live as long as the process:
    out of the garbage collector's sight, a full collection no longer stalls a reply by
    walking them all."""
    import gc

    gc.collect()
    gc.freeze()
