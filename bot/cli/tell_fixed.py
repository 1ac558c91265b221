"""`aftercare tell-fixed`: tell the customers who reported a problem on a SKU that it is fixed,
each in their own language."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Optional

import click

from bot.base.yamlsource import SourceError
from bot.cli.common import EXIT_ROWS_SKIPPED, EXIT_USAGE, existing_store, settings_from
from bot.nlu.base import PROBLEM_TYPES
from bot.ops.fixes import (Candidate, Plan, TellFixedError, check_problem_type, check_request, check_translated,
                           load_messages, parse_messages, parse_since, plan, queue)


@click.command("tell-fixed", help=(
    "You spoke, we listened: tell every customer who reported PROBLEM-TYPE on SKU that it has been "
    "fixed, once each (a second run sends nothing to someone already told about that SKU and "
    "problem), in their own language. Give the text once per language (--message LANG=TEXT, "
    "repeated, and/or --messages FILE); a customer whose language has no text is never sent "
    "another's: the command refuses (exit 2) unless --skip-untranslated leaves them out (exit 3). "
    "Each message is proactive: it shares the weekly cap and waits for the customer's quiet "
    "hours, and goes out when the running bot's scheduler lets it. Opted-out, unreachable, "
    "unlinked and forgotten customers are left out."))
@click.option("--sku", required=True, help="The SKU the problem was reported on (as in the orders).")
@click.option("--problem-type", "problem_type", required=True,
              help=f"The problem that was fixed: one of {', '.join(PROBLEM_TYPES)}.")
@click.option("--message", "messages", multiple=True, metavar="LANG=TEXT",
              help="The text for customers who speak LANG (or a regional LANG-XX), as written; repeat per "
                   "language, e.g. --message en=\"We fixed it\" --message de=\"Wir haben es behoben\".")
@click.option("--messages", "messages_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="A YAML file of texts, one per language (`de: \"Wir haben ...\"`).")
@click.option("--skip-untranslated", "skip_untranslated", is_flag=True,
              help="Leave out the customers whose language has no text (they can be told by a later run); "
                   "exit code 3 when anyone was left out.")
@click.option("--since", default=None, metavar="YYYY-MM-DD",
              help="Only customers whose report (case) was opened on or after this day (UTC).")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Say who would get which language and who is left out (with the reason); queue nothing. "
                   "Exits with the code the real run would.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.pass_context
def tell_fixed(ctx: click.Context, sku: str, problem_type: str, messages: tuple[str, ...],
               messages_file: Optional[Path], skip_untranslated: bool, since: Optional[str],
               dry_run: bool, yes: bool) -> None:
    settings = settings_from(ctx)
    try:
        since_at = parse_since(since)
        check_problem_type(problem_type)               # before opening the store: no file needed to say so
        texts = parse_messages(messages, settings.languages)
        if messages_file is not None:
            texts = load_messages(messages_file, settings.languages, texts)
        if not texts and not dry_run:
            raise TellFixedError("give the text: --message LANG=TEXT (once per language) or --messages FILE")
        store = existing_store(settings)
        check_request(store, sku, problem_type)
    except (TellFixedError, SourceError) as exc:
        _usage_error(str(exc))
    chosen = plan(store, sku, problem_type, since_at, settings.languages)
    untranslated = chosen.untranslated(texts)
    told = [c for c in chosen.recipients if c not in untranslated] if skip_untranslated else chosen.recipients
    click.echo(_sentence("Would tell" if dry_run else "Will tell", chosen, told, since))
    for candidate in told:
        click.echo(f"  {candidate.label} ({candidate.channel}, {candidate.language}, "
                   f"reported {candidate.reported_at[:10]})")
    left_out = [(c, c.skip or "") for c in chosen.skipped]
    if skip_untranslated:
        left_out += [(c, f"no text in {c.language}") for c in untranslated]
    if left_out:
        click.echo(f"Leaving out {_count(len(left_out), 'customer')}:")
        for candidate, reason in left_out:
            click.echo(f"  {candidate.label}: {reason}")
    if not skip_untranslated:
        try:
            check_translated(chosen, texts)
        except TellFixedError as exc:
            _usage_error(str(exc))
    if told and not dry_run:
        if not yes:
            click.confirm(f"Queue it to {_count(len(told), 'customer')}?", abort=True, err=True)
        queued = queue(store, chosen, texts, datetime.now(timezone.utc), skip_untranslated=skip_untranslated)
        click.echo(f"Queued {_count(queued, 'message')}; they go out through the governor (weekly cap, quiet hours).")
    elif not dry_run:
        click.echo("Nothing to queue.")
    if untranslated and skip_untranslated:
        languages = ", ".join(sorted({c.language for c in untranslated}))
        click.echo(f"{'Would skip' if dry_run else 'Skipped'} {_count(len(untranslated), 'customer')} with no text "
                   f"in their language ({languages}): tell them with a later run that adds --message LANG=TEXT.",
                   err=True)
        sys.exit(EXIT_ROWS_SKIPPED)


def _sentence(verb: str, chosen: Plan, told: list[Candidate], since: Optional[str]) -> str:
    """"Would tell 3 customers (2 en, 1 de) that the 'defective' problem on Trail Runner 2
    (TR2-44) is fixed." or, for no one, why no one."""
    subject = f"the '{chosen.problem_type}' problem on " + (f"{chosen.product} ({chosen.sku})" if chosen.product
                                                            else chosen.sku)
    if told:
        counts: dict[str, int] = {}
        for candidate in told:
            counts[candidate.language] = counts.get(candidate.language, 0) + 1
        languages = ", ".join(f"{n} {tag}" for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{verb} {_count(len(told), 'customer')} ({languages}) that {subject} is fixed."
    reported = len(chosen.candidates)
    if not reported:
        why = "no customer reported it" + (f" since {since}" if since else "")
    elif reported == 1:
        why = "the one customer who reported it is left out (below)"
    else:
        why = f"all {reported} customers who reported it are left out (below)"
    return f"{verb} no one that {subject} is fixed: {why}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _usage_error(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)

