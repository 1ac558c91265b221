"""The commands Telegram adds to `aftercare` (declared in its spec, `ChannelSpec.commands`).

A channel never opens the store or imports the CLI: the `aftercare` group hands its commands the
settings and the store through the click context (`ctx.obj["settings"]`, `ctx.obj["store"]`)."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from bot.channels.registry import section


@click.group(epilog="Example: aftercare telegram link A-1001")
def telegram() -> None:
    """Telegram helpers."""


@telegram.command(epilog="Example: aftercare telegram link A-1001")
@click.argument("order_id")
@click.pass_context
def link(ctx: click.Context, order_id: str) -> None:
    """Print the t.me deep link that opts ORDER_ID's customer in (signed, expiring, single use)."""
    from bot.channels.telegram_links import link_url, make_link_token

    services = ctx.find_root().obj
    settings = services["settings"]()
    store = services["read_store"](settings)             # reads: a missing store is an error, never made
    order = store.orders.get(order_id)
    if order is None:
        raise click.ClickException(f"order {order_id!r} not found; import it first")
    tg = section(settings, "telegram")
    # Only the configured secret (checked like every secret: set, 16+ characters): it is what the
    # running bot verifies links with, so a link signed with anything else would be refused.
    secret = tg.link_secret.get_secret_value() if tg.link_secret else None
    if not secret:
        raise click.ClickException("channels.telegram.link_secret is not set: set AFTERCARE_LINK_SECRET "
                                   "(config.yml: link_secret: ${AFTERCARE_LINK_SECRET}) to sign links")
    expires = int((datetime.now(timezone.utc) + tg.link_ttl).timestamp())
    click.echo(link_url(tg.bot_username, make_link_token(order.customer_id, secret.encode(), expires)))
