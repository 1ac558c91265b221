"""`aftercare customer export|forget REF`: a customer's data rights over the configured store."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click

from bot.cli.common import existing_store, settings_from
from bot.config.settings import Settings
from bot.ops.data_rights import (AlreadyForgotten, CustomerRefError, export_customer, find_customer, forget_customer,
                                 os_user)
from bot.store.store import Store

REF_HELP = ("REF is a customer id, order id, email, customer ref or channel address (<channel>:<address>, "
            "e.g. a chat id); prefix it (id:, order:, email:, ref:, <channel>:) when a bare value matches "
            "several customers. Forgotten customers are found by id only.")


@click.group()
def customer() -> None:
    """A customer's data: export it, or forget them (erasure)."""


def _store(ctx: click.Context) -> tuple[Settings, Store]:
    """The configured store; a missing file is an error (never a new, empty store)."""
    settings = settings_from(ctx)
    return settings, existing_store(settings)


def _customer_id(store: Store, ref: str) -> int:
    """The one customer REF names, or a one-line error and exit code 2."""
    try:
        return find_customer(store, ref)
    except CustomerRefError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@customer.command("export", help="Write everything held about one customer as JSON (orders, identities, "
                                 "consent ledger, conversations and messages, scores, cases and their thread "
                                 "posts, outbox, erasures). " + REF_HELP)
@click.argument("ref")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="Write the JSON to this file instead of standard output.")
@click.pass_context
def export(ctx: click.Context, ref: str, out: str | None) -> None:
    _, store = _store(ctx)
    data = export_customer(store, _customer_id(store, ref), datetime.now(timezone.utc))
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        click.echo(f"customer {data['customer_id']} written to {out}", err=True)
    else:
        click.echo(text)


@customer.command("forget", help="Erase one customer's personal data and free text everywhere, including "
                                 "the bot's posts of their words in support case threads (deleted through the "
                                 "outbox by the running bot), keep their anonymous scores, never contact them "
                                 "again, and log who ran it and when. " + REF_HELP)
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, ref: str, yes: bool) -> None:
    settings, store = _store(ctx)
    try:
        customer_id = find_customer(store, ref)
    except AlreadyForgotten:
        click.echo(f"{ref} was already forgotten; nothing to do")     # erasure is idempotent: success
        return
    except CustomerRefError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if not yes:
        click.confirm(f"Erase customer {customer_id} ({ref}) for good?", abort=True, err=True)
    actor = os_user()
    result = forget_customer(store, settings, customer_id, actor, datetime.now(timezone.utc))
    if result.already_forgotten:
        click.echo(f"customer {customer_id} was already forgotten at {result.already_forgotten}; nothing to do")
        return
    changed = ", ".join(f"{n} {table}" for table, n in sorted(result.counts.items()) if n)
    click.echo(f"customer {customer_id} forgotten by {actor}: erased {changed or 'nothing'}; "
               f"{result.posts_deleted} support thread posts to delete and {result.cards_redrawn} case cards to "
               "redraw, queued for the running bot")
