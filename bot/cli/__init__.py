"""The `aftercare` command: a thin click layer over the library. Each group lives in its own
module; every command has help text (a test checks it)."""
from __future__ import annotations

import os

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import click

from bot.base.errors import AftercareError
from bot.cli.common import open_store, plugins_of, settings_from
from bot.cli.customer import customer
from bot.cli.flows import flows
from bot.cli.nlu import nlu
from bot.cli.nlu_serve import serve as nlu_serve
from bot.cli.ops import cases, due, orders
from bot.cli.play import chat, simulate
from bot.cli.report import browse, report
from bot.cli.run import run
from bot.cli.tell_fixed import tell_fixed


class AftercareGroup(click.Group):
    """The built-in commands plus every plugin's (`aftercare_cli_commands`). Any error Aftercare
    names on purpose (`AftercareError`: a broken secret file, a bad config or flow file, an
    untrained model...) is one line and exit code 1, whichever command met it, never a
    traceback. Anything else is a bug and keeps its traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(c.name for c in plugins_of(ctx).commands())})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        return found or next((c for c in plugins_of(ctx).commands() if c.name == cmd_name), None)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AftercareError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None


@click.group(cls=AftercareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default="config.yml", show_default=True,
              envvar="AFTERCARE_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """Aftercare: post-purchase check-ins with customers on their chat channels."""
    # what a plugin's command (a channel's, say) is handed instead of importing the CLI or the
    # store; `plugins` is already there (loaded to find the command, or given by a test)
    plugins_of(ctx)
    ctx.obj.update(config_path=config_path, settings=lambda: settings_from(ctx), store=open_store)


nlu.add_command(nlu_serve)
for command in (flows, nlu, orders, due, cases, simulate, chat, run, report, browse, customer, tell_fixed):
    main.add_command(command)
