"""`aftercare report` and `aftercare browse`: what the customers told the shop, from the store
named by config (AFTERCARE_DB), read-only."""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import NoReturn, Optional

import click
from rich.console import Console

from bot.cli.common import plugins_of, settings_from
from bot.report.figures import add_figures
from bot.store.reporting import BY_CHOICES, Period, Reporting, open_read_only

BAD_INPUT = 2      # click's own exit code for a usage error


def fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit code 2 (no usage dump)."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(BAD_INPUT)


def parse_day(option: str, value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-11-02")


def period_from(since: Optional[str], until: Optional[str], compare: bool) -> Period:
    start, end = parse_day("--since", since), parse_day("--until", until)
    if compare and start is None:
        fail("--compare needs --since (the previous period has the same length)")
    if compare and end is None:
        end = datetime.now(timezone.utc).date()
    try:
        return Period(start, end)
    except ValueError as exc:
        fail(f"--since/--until: {exc}")


def store_path(ctx: click.Context) -> Path:
    settings = settings_from(ctx)
    return Path(settings.resolve(settings.store.path))


@click.command()
@click.option("--since", metavar="DATE", help="First day (UTC, YYYY-MM-DD) of the period; default: the beginning.")
@click.option("--until", metavar="DATE",
              help="Last day (UTC, YYYY-MM-DD, included); default: no end (with --compare: today).")
@click.option("--by", "by", metavar="|".join(BY_CHOICES),
              help="agent: the support desk per agent (cases claimed, time to claim, first reply, resolve, "
                   "CES after). Else slice every figure by SKU, category, channel, week, cohort (month of first purchase) "
                   "or language (the one each customer is answered in).")
@click.option("--compare", is_flag=True, help="Put the previous period of equal length beside this one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write one self-contained page with charts (works offline) to FILE.")
@click.option("--csv", "csv_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Also write every table as a CSV file (figures.csv, groups.csv, problems.csv, ...) into DIR.")
@click.pass_context
def report(ctx: click.Context, since: Optional[str], until: Optional[str], by: Optional[str], compare: bool,
           as_json: bool, html_file: Optional[str], csv_dir: Optional[str]) -> None:
    """CSAT, NPS, CES, response rate, cases, reviews, offers, themes and customers at risk."""
    if by is not None and by not in BY_CHOICES:
        fail(f"--by {by!r} is not one of {', '.join(BY_CHOICES)}")
    period = period_from(since, until, compare)
    path = store_path(ctx)
    try:
        db = open_read_only(path)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    settings = settings_from(ctx)
    reporting = Reporting(db, default_language=settings.languages.default, default_timezone=settings.schedule.timezone)
    now = max(datetime.now(timezone.utc), reporting.latest_activity() or datetime.min.replace(tzinfo=timezone.utc))
    figures = plugins_of(ctx).figures()
    data = add_figures(reporting.report(period, now, by=by, compare=compare), figures, db, period)
    if html_file:
        from bot.report.page import write_page

        # the trend: the period's weeks, and at least the 8 weeks up to its end (both periods with --compare)
        shown = Period(period.previous().since, period.until) if compare else period
        if shown.until is not None:
            eight = shown.until - timedelta(weeks=8) + timedelta(days=1)
            shown = Period(min(shown.since or eight, eight), shown.until)
        write_page(Path(html_file), data, weeks=reporting.groups(shown, "week", now),
                   skus=reporting.groups(period, "sku", now), store=str(path), figures=figures)
    written = []
    if csv_dir:
        from bot.report.csv_export import write_csv

        written = write_csv(Path(csv_dir), data)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from bot.report.terminal import WIDTH, render

    console = Console(width=None if sys.stdout.isatty() else WIDTH, highlight=False)   # piped: 100 columns
    render(console, data, path, figures)
    if html_file:
        console.print(f"Page with charts written to {html_file}", markup=False)
    if written:
        console.print(f"{len(written)} CSV files written to {csv_dir}: {', '.join(p.name for p in written)}",
                      markup=False)


@click.command()
@click.option("--port", default=8001, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--immutable", is_flag=True, help="Open the file as never changing (only when no bot writes to it).")
@click.option("--personal", is_flag=True,
              help="Also the tables and queries with names, addresses and words, and arbitrary SQL.")
@click.pass_context
def browse(ctx: click.Context, port: int, immutable: bool, personal: bool) -> None:
    """Explore the store in Datasette on 127.0.0.1, read-only, with canned queries (open cases, low scores, ...).
    Only requests with Host localhost or 127.0.0.1 are answered; personal data only with --personal."""
    from bot.report.browse import serve

    path = store_path(ctx)
    if not path.is_file():
        raise click.ClickException(f"no store at {path} (set AFTERCARE_DB or store.path in config.yml)")
    try:
        serve(path, port=port, immutable=immutable, personal=personal,
              ready=lambda url: click.echo(f"Datasette on {url} (read-only{', personal data shown' if personal else ''}, "
                                           "Ctrl-C stops it)"))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
