"""`aftercare customer export|forget|bind REF`: a customer's data rights, and an admin's binding of a chat."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click

from bot.cli.common import EXIT_USAGE, existing_store, plugins_of, settings_from
from bot.config.settings import Settings
from bot.ops.binding import BindError, bind, parse_address
from bot.ops.data_rights import (AlreadyForgotten, CustomerRefError, export_customer, find_customer, forget_customer,
                                 os_user)
from bot.store.store import Store

REF_HELP = ("REF is a customer id, order id, email, customer ref or channel address (<channel>:<address>, "
            "e.g. a chat id); prefix it (id:, order:, email:, ref:, <channel>:) when a bare value matches "
            "several customers. Forgotten customers are found by id only.")


@click.group()
def customer() -> None:
    """A customer's data: export it, forget them (erasure), or bind a chat to them."""


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


@customer.command("bind", help="Bind a chat to a customer (the shop's word that the person at ADDRESS is "
                               "them, e.g. they asked by e-mail), opting them in; recorded in the consent ledger "
                               "with your user name. Besides a channel's signed deep link, the only "
                               "way a chat becomes a customer's: order data never rebinds one. A customer's "
                               "STOP stays in force, forgotten customers and their addresses are refused, and "
                               "another customer's chat is taken only with --move. " + REF_HELP)
@click.argument("ref")
@click.argument("address", metavar="CHANNEL:ADDRESS")
@click.option("--move", is_flag=True, help="Take the address from the customer who holds it now.")
@click.pass_context
def bind_chat(ctx: click.Context, ref: str, address: str, move: bool) -> None:
    _, store = _store(ctx)
    try:
        channel, chat = parse_address(address, plugins_of(ctx).channels().names())
    except BindError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    customer_id = _customer_id(store, ref)
    actor = os_user()
    try:
        result = bind(store, customer_id, channel, chat, actor, datetime.now(timezone.utc), move=move)
    except BindError as exc:
        raise click.ClickException(str(exc)) from None
    if not result.changed:
        click.echo(f"{channel}:{chat} is already customer {customer_id}'s; nothing to do")
    else:
        moved = f" (taken from customer {result.moved_from})" if result.moved_from is not None else ""
        click.echo(f"{channel}:{chat} bound to customer {customer_id} by {actor}{moved}")
    if result.opted_out:
        click.echo(f"note: customer {customer_id} opted out on {channel} and stays so until they send /start",
                   err=True)
