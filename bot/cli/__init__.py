"""The `aftercare` command: a thin click layer over the library. Each group lives in its own
module; every command has help text (a test checks it)."""
from __future__ import annotations

import os

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import click

from bot.channels.registry import default_registry
from bot.base.codes import SecretFileError
from bot.channels.base import StartError
from bot.cli.customer import customer
from bot.cli.doctor import doctor
from bot.cli.flows import flows
from bot.cli.nlu import nlu
from bot.cli.ops import cases, due, orders
from bot.cli.play import chat, simulate
from bot.cli.report import browse, report
from bot.cli.run import run
from bot.cli.tell_fixed import tell_fixed


class AftercareGroup(click.Group):
    """Every command that starts the bot's core reads the install secret: a broken secret file
    is one line naming the file and the problem, whichever command met it, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (SecretFileError, StartError) as exc:       # one line naming the cause and the fix
            raise click.ClickException(str(exc)) from None


@click.group(cls=AftercareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default="config.yml", show_default=True,
              envvar="AFTERCARE_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """Aftercare: post-purchase check-ins with customers on their chat channels."""
    ctx.obj = {"config_path": config_path}


for command in (flows, nlu, orders, due, cases, simulate, chat, run, report, browse, customer, tell_fixed, doctor):
    main.add_command(command)
for spec in default_registry():          # the commands a channel brings (e.g. its opt-in links)
    if (channel_command := spec.command()) is not None:
        main.add_command(channel_command)
