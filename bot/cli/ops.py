"""Day-to-day commands for a shop: import orders, see what is due, list cases."""
from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone

import click
from rich.console import Console
from rich.table import Table

from bot.channels.registry import ChannelRegistry
from bot.cli.common import EXIT_ROWS_SKIPPED, existing_store, open_store, plugins_of, settings_from
from bot.config.settings import Settings
from bot.conversation.context import customer_language
from bot.nlu.base import Parse, SyncParser, not_understood
from bot.orders.files import OrderFileError
from bot.store.store import Store


class _NothingToParse(SyncParser):
    """`due` reads the schedule: nothing is parsed, so no model is loaded."""

    def parse(self, text: str, language: str | None = None) -> Parse:
        return not_understood(text)


@click.group()
def orders() -> None:
    """Order files: import them (CSV or JSON), or watch a folder for them."""


@orders.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--history", is_flag=True,
              help="Past orders: recorded for reports and the bot's memory; nothing already due is sent.")
@click.option("--since", "since", default=None, metavar="YYYY-MM-DD",
              help="Orders purchased before this day are history (as --history); later ones are new.")
@click.pass_context
def import_(ctx: click.Context, file: str, history: bool, since: str | None) -> None:
    """Import FILE; bad rows are listed with their line and skipped, good rows kept (idempotent);
    exit code 3 when any row was skipped.

    Whatever is past its expiry (schedule.touchpoints.*.expires) is recorded as dropped, never
    sent late; with --history (or --since) nothing that fell due before the import is sent."""
    from bot.orders.importing import import_file

    now = datetime.now(timezone.utc)
    history_before = now if history else _day(since, "--since") if since else None
    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        report = import_file(store, settings, file, now, history_before=history_before,
                             channels=plugins_of(ctx).channels())
    except OrderFileError as exc:
        raise click.ClickException(str(exc)) from None
    for error in report.errors:
        click.echo(f"{file}:{error.line}: {error.reason} (row skipped)", err=True)
    forgotten = (f"{report.forgotten} {'order of a forgotten customer' if report.forgotten == 1 else 'orders of forgotten customers'}"
                 " skipped; " if report.forgotten else "")
    click.echo(f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged orders; "
               f"{forgotten}{len(report.errors)} bad rows skipped")
    if report.dropped:
        click.echo(f"{report.dropped} touchpoint(s) already past: recorded, not sent (aftercare due --dropped says why)")
    if report.errors:
        sys.exit(EXIT_ROWS_SKIPPED)            # done, but not all of it: cron and scripts can tell


def _day(text: str, option: str) -> datetime:
    """YYYY-MM-DD -> its start, UTC; a usage error naming the option otherwise."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise click.BadParameter(f'"{text}" is not a date (use YYYY-MM-DD)', param_hint=option) from None


@orders.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--once", is_flag=True, help="Handle what is there now and exit (for a cron line).")
@click.option("--every", default="5s", show_default=True, help="How often to look for new files.")
@click.pass_context
def watch(ctx: click.Context, folder: str, once: bool, every: str) -> None:
    """Import .csv/.json files as they land in FOLDER, then move each to FOLDER/done/ (or
    FOLDER/failed/ with a .errors file). Runs until Ctrl-C, or once with --once (exit code 3
    when a file or some of its rows failed)."""
    from bot.base.durations import parse_duration

    settings = settings_from(ctx)
    try:
        pause = parse_duration(every).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from None
    channels = plugins_of(ctx).channels()
    store = open_store(settings)
    click.echo(f"watching {folder} for .csv/.json order files" + ("" if once else " (Ctrl-C stops)"))
    try:
        skipped = asyncio.run(_watch(store, settings, folder, channels, pause, once))
    finally:
        store.close()
    if not once:
        click.echo("stopped")
    if skipped and once:
        sys.exit(EXIT_ROWS_SKIPPED)          # a file (or some of its rows) went to failed/: cron can tell


async def _watch(store: Store, settings: Settings, folder: str, channels: ChannelRegistry, pause: float,
                 once: bool) -> bool:
    """The folder's scan as the one job of a MainLoop with no bot in it: one turn with --once,
    else a turn every `pause` seconds until SIGTERM or Ctrl-C (the file in hand is finished).
    True when a file, or some of its rows, went to failed/."""
    from bot.base.clock import SystemClock
    from bot.live.mainloop import MainLoop, stop_on_signals
    from bot.orders.watch import scan_once

    clock = SystemClock()
    skipped = False

    async def scan(now: datetime) -> None:
        nonlocal skipped
        for picked in scan_once(store, settings, folder, clock.now, channels=channels):
            report = picked.report
            if picked.error or report is None:
                click.echo(f"{picked.source}: {picked.error} -> {picked.moved_to}", err=True)
            else:
                click.echo(f"{picked.source}: {report.inserted} new, {report.updated} updated, "
                           f"{report.unchanged} unchanged orders; {len(report.errors)} bad rows -> "
                           f"{picked.moved_to}", err=bool(report.errors))
            skipped |= bool(picked.error or report is None or report.errors)

    loop = MainLoop(None, jobs=[scan], clock=clock)
    if once:
        await loop.due(clock.now())
    else:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await loop.run(stop, idle_sleep=pause)
    return skipped


@click.command()
@click.option("--within", default="1d", show_default=True, help="Also show what falls due this soon.")
@click.option("--dropped", default="7d", show_default=True, help="Also show what was dropped this recently (0d: none).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=1),
              help="At most this many rows of each list; the rest are counted (\"N more\").")
@click.pass_context
def due(ctx: click.Context, within: str, dropped: str, limit: int) -> None:
    """Show touchpoints (and "it has been fixed" notices) that are due or soon due and why each
    one waits, then those dropped lately and why: the scheduler's own verdicts."""
    from bot.live.core import build_core
    from bot.base.clock import SystemClock
    from bot.base.durations import parse_duration

    try:
        horizon, dropped_since = parse_duration(within), parse_duration(dropped)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    settings = settings_from(ctx)
    store = existing_store(settings)
    core = build_core(settings, store, parser=_NothingToParse(), clock=SystemClock(), channels={},
                      plugins=plugins_of(ctx))
    table = Table("id", "order", "kind", "due at (UTC)", "status", "why")
    now = datetime.now(timezone.utc)
    for item in core.scheduler.due_report(now, horizon, dropped_since or None, page=limit):
        table.add_row(item.ref, item.order_id, item.kind, item.due_at[:16], item.status, item.verdict)
    # data, never Rich markup (an order id or reason with "[/]" is shown as is); piped: one line per row
    Console(width=None if sys.stdout.isatty() else 1000, markup=False).print(table)
    more = core.scheduler.due_more(now, horizon, dropped_since or None, page=limit)
    if more:
        click.echo(f"{more} more not shown (at most {limit} of each list; --limit shows more)")


@click.command()
@click.pass_context
def cases(ctx: click.Context) -> None:
    """List open cases: owner, age, SLA state, reason, problem and request."""
    from bot.base.clock import parse_iso

    settings = settings_from(ctx)
    store = existing_store(settings)
    now = datetime.now(timezone.utc)
    table = Table("case", "order", "language", "reason", "problem", "request", "status", "owner", "age", "SLA")
    for case in store.cases.all_active():
        customer = store.customers.get(case.customer_id)
        identities = store.customers.identities_of(case.customer_id)
        language = customer_language(settings, customer, identities[0].language_code if identities else None)
        age = now - (parse_iso(case.opened_at) or now)
        sla_due = parse_iso(case.sla_due_at)
        sla = ("answered" if case.first_reply_at else "-" if sla_due is None
               else "overdue" if now >= sla_due else f"due {sla_due:%H:%M}")
        table.add_row(str(case.id), case.order_id or "-", language, case.reason, case.problem_type or "-",
                      case.request or "-", case.status.value, case.agent or "-",
                      f"{int(age.total_seconds() // 60)} min", sla)
    # data, never Rich markup; piped: never cut a column
    Console(width=None if sys.stdout.isatty() else 200, markup=False).print(table)
