"""The `aftercare` command: a thin click layer over the library. Each group lives in its own
module; every command has help text and an example (tests check both).

The rules every command keeps (README, "Exit codes"): 0 success, 1 failure, 2 usage (a bad
option, argument or input), 3 done but rows were skipped (an order file with bad rows); every
error is one line on stderr, `error: <what and where>`; commands that only read never create a
store; `--db FILE` names the store for any command (over `store.path` / AFTERCARE_DB)."""
from __future__ import annotations

import os
import sys
from typing import Any, Optional, Sequence

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # before anything imports Rasa
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

import click

from bot.channels.registry import default_registry
from bot.base.codes import SecretFileError
from bot.cli.backup import backup, restore
from bot.cli.common import EXIT_FAILURE, EXIT_USAGE
from bot.cli.customer import customer
from bot.cli.flows import flows
from bot.cli.nlu import nlu
from bot.cli.ops import cases, due, orders
from bot.cli.play import chat, simulate
from bot.cli.report import browse, report
from bot.cli.run import run
from bot.cli.examples import add_examples
from bot.cli.tell_fixed import tell_fixed


class AftercareGroup(click.Group):
    """Every command that starts the bot's core reads the install secret: a broken secret file
    is one line naming the file and the problem, whichever command met it, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SecretFileError as exc:
            raise click.ClickException(str(exc)) from None

    def main(self, args: Optional[Sequence[str]] = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """click's main, with one error style: `error: ...` (click writes `Error: ...`)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name or "aftercare", complete_var, False, **extra)
        except click.UsageError as exc:
            if exc.ctx is not None:
                click.echo(f"{exc.ctx.get_usage()}\nTry '{exc.ctx.command_path} -h' for help.", err=True)
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("aborted", err=True)
            sys.exit(EXIT_FAILURE)
        sys.exit(code if isinstance(code, int) else 0)     # a command's own code (ctx.exit), else success


@click.group(cls=AftercareGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Example: aftercare --db data/shop.db due --within 2d\n\n"
                    "Exit codes: 0 success, 1 failure, 2 usage (bad option or input), "
                    "3 done but rows were skipped (orders import).")
@click.option("--config", "config_path", default="config.yml", show_default=True,
              envvar="AFTERCARE_CONFIG", type=click.Path(dir_okay=False),
              help="The configuration file.")
@click.option("--db", "db_path", default=None, metavar="FILE", type=click.Path(dir_okay=False),
              help="The store (SQLite file) for this command, over store.path and AFTERCARE_DB.")
@click.version_option(package_name="aftercare", prog_name="aftercare", message="%(prog)s %(version)s",
                      help="Print the version and exit.")
@click.pass_context
def main(ctx: click.Context, config_path: str, db_path: Optional[str]) -> None:
    """Aftercare: post-purchase check-ins with customers on their chat channels."""
    ctx.obj = {"config_path": config_path, "db_path": db_path}


for command in (flows, nlu, orders, due, cases, simulate, chat, run, report, browse, customer, tell_fixed,
                backup, restore):
    main.add_command(command)
for spec in default_registry():          # the commands a channel brings (e.g. its opt-in links)
    if (channel_command := spec.command()) is not None:
        main.add_command(channel_command)
add_examples(main)
