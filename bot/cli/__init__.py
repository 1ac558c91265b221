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

from bot.base.errors import AftercareError
from bot.cli.backup import backup, restore
from bot.cli.common import EXIT_FAILURE, EXIT_USAGE, existing_store, open_store, plugins_of, settings_from
from bot.cli.customer import customer
from bot.cli.doctor import doctor
from bot.cli.flows import flows
from bot.cli.nlu import nlu
from bot.cli.nlu_serve import serve as nlu_serve
from bot.cli.ops import cases, due, orders
from bot.cli.play import chat, simulate
from bot.cli.report import browse, report
from bot.cli.run import run
from bot.cli.examples import add_examples
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
    # what a plugin's command (a channel's, say) is handed instead of importing the CLI or the
    # store; `plugins` is already there (loaded to find the command, or given by a test). An action
    # whose effect no plugin applies stops every command here, in one line.
    plugins_of(ctx).check_effects()
    # `read_store`: the store for a command that only reads (a missing one is an error, never made)
    ctx.obj.update(config_path=config_path, db_path=db_path, settings=lambda: settings_from(ctx), store=open_store,
                   read_store=existing_store)


nlu.add_command(nlu_serve)
for command in (flows, nlu, orders, due, cases, simulate, chat, run, report, browse, customer, tell_fixed,
                backup, restore, doctor):
    main.add_command(command)
add_examples(main)
