"""The `aftercare` command: a thin click layer over the library. Each group lives in its own
module; every command has help text (a test checks it)."""
from __future__ import annotations

import os

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default="config.yml", show_default=True,
              envvar="AFTERCARE_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """Aftercare: post-purchase check-ins on Telegram and Slack."""
    ctx.obj = {"config_path": config_path}


def _register() -> None:
    """Attach each command group; a group whose module is missing is simply not offered."""
    import importlib

    for module_name, attr in (
        ("bot.cli.nlu", "nlu"),
        ("bot.cli.core", "register"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        obj = getattr(module, attr)
        if isinstance(obj, click.Command):
            main.add_command(obj)
        else:
            obj(main)


_register()
