"""`aftercare tell-fixed`: tell the customers who reported a problem on a SKU that it is fixed."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Optional

import click

from bot.cli.common import existing_store, settings_from
from bot.nlu.base import PROBLEM_TYPES
from bot.ops.fixes import TellFixedError, check_problem_type, check_request, parse_since, plan, queue


@click.command("tell-fixed", help=(
    "You spoke, we listened: tell every customer who reported PROBLEM-TYPE on SKU that it has been "
    "fixed, once each (a second run sends nothing to someone already told about that SKU and "
    "problem). Each message is proactive: it shares the weekly cap and waits for the customer's "
    "quiet hours, and goes out when the running bot's scheduler lets it. Opted-out, unreachable, "
    "unlinked and forgotten customers are skipped. The --message text is sent exactly as written, "
    "in the language you wrote it, whatever the customer's language."))
@click.option("--sku", required=True, help="The SKU the problem was reported on (as in the orders).")
@click.option("--problem-type", "problem_type", required=True,
              help=f"The problem that was fixed: one of {', '.join(PROBLEM_TYPES)}.")
@click.option("--message", required=True, help="The text to send, as written (no template variables).")
@click.option("--since", default=None, metavar="YYYY-MM-DD",
              help="Only customers whose report (case) was opened on or after this day (UTC).")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="List who would get the message and who is skipped (with the reason); queue nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.pass_context
def tell_fixed(ctx: click.Context, sku: str, problem_type: str, message: str, since: Optional[str],
               dry_run: bool, yes: bool) -> None:
    settings = settings_from(ctx)
    try:
        since_at = parse_since(since)
        check_problem_type(problem_type)               # before opening the store: no file needed to say so
        store = existing_store(settings)
        check_request(store, sku, problem_type, message)
    except TellFixedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    chosen = plan(store, sku, problem_type, since_at)
    verb = "would tell" if dry_run else "will tell"
    click.echo(f"{verb} {len(chosen.recipients)} customer(s) that {problem_type} on {sku} is fixed:")
    for candidate in chosen.recipients:
        click.echo(f"  {candidate.label} ({candidate.channel}, reported {candidate.reported_at[:10]})")
    if chosen.skipped:
        click.echo(f"skipped {len(chosen.skipped)}:")
        for candidate in chosen.skipped:
            click.echo(f"  {candidate.label}: {candidate.skip}")
    if dry_run or not chosen.recipients:
        if not dry_run:
            click.echo("nothing to queue")
        return
    if not yes:
        click.confirm(f"Queue the message to {len(chosen.recipients)} customer(s)?", abort=True, err=True)
    queued = queue(store, chosen, message, datetime.now(timezone.utc))
    click.echo(f"queued {queued} message(s); they go out through the governor (weekly cap, quiet hours)")
