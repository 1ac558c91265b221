"""The `aftercare` command: a thin click layer over the library. Each group lives in its own
module; every command has help text (a test checks it)."""
from __future__ import annotations

import os

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import click

from bot.cli.customer import customer
from bot.cli.flows import flows
from bot.cli.nlu import nlu
from bot.cli.ops import cases, due, orders, telegram
from bot.cli.play import chat, simulate
from bot.cli.report import browse, report
from bot.cli.run import run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default="config.yml", show_default=True,
              envvar="AFTERCARE_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """Aftercare: post-purchase check-ins on Telegram and Slack."""
    ctx.obj = {"config_path": config_path}


for command in (flows, nlu, orders, due, cases, telegram, simulate, chat, run, report, browse, customer):
    main.add_command(command)
