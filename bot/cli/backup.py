"""`aftercare backup DEST` and `aftercare restore BACKUP`: the store, copied and put back."""
from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import settings_from
from bot.store.backup import BackupError, backup as backup_store, restore as restore_store


@click.command(epilog="Example: aftercare backup /var/backups/aftercare/shop-$(date +%F).db")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.pass_context
def backup(ctx: click.Context, dest: str) -> None:
    """Copy the store to DEST, a new file readable by its owner only (0600). Safe while the bot
    runs: SQLite's online backup copies one committed state. For continuous replication use
    Litestream (docs/going-live.md, "Backups")."""
    settings = settings_from(ctx)
    try:
        info = backup_store(Path(settings.resolve(settings.store.path)), Path(dest))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up to {info.path}: {info.bytes} bytes, {info.orders} orders, {info.messages} messages")


@click.command(epilog="Example: aftercare restore /var/backups/aftercare/shop-2026-12-01.db --force")
@click.argument("backup_file", metavar="BACKUP", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing store (stop the bot first).")
@click.pass_context
def restore(ctx: click.Context, backup_file: str, force: bool) -> None:
    """Put BACKUP (from `aftercare backup`, or `litestream restore`) in place as the store,
    after checking it is a sound Aftercare store. Stop the bot first; start it again after: it
    resumes from the backup's outbox (what was sent is not sent again)."""
    settings = settings_from(ctx)
    try:
        info = restore_store(Path(backup_file), Path(settings.resolve(settings.store.path)), force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {backup_file} to {info.path}: {info.orders} orders, {info.messages} messages")
