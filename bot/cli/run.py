"""`aftercare run`: channels, scheduler and dispatcher in one asyncio process."""
from __future__ import annotations

import functools
import resource
import sys
from typing import Awaitable

import click

from bot.cli.common import load_nlu, open_store, plugins_of, settings_from


@click.command()
@click.option("--speed", default=600.0, show_default=True, help="Sandbox only: simulated seconds per real second.")
@click.option("--orders", "orders_file", type=click.Path(exists=True, dir_okay=False),
              help="Sandbox only: orders to import (default data/sample_orders.csv).")
@click.option("--no-personas", is_flag=True, help="Sandbox only: no simulated customers; play them with `aftercare chat`.")
@click.pass_context
def run(ctx: click.Context, speed: float, orders_file: str | None, no_personas: bool) -> None:
    """Run the bot: the real one with credentials in the environment, else the local sandbox."""
    from bot.live import eventloop
    from bot.live.app import run_app

    settings = settings_from(ctx)
    plugins = plugins_of(ctx)

    def sandbox() -> Awaitable[int]:
        from bot.sandbox.demo import run_sandbox     # the real bot never loads the sandbox

        return run_sandbox(settings, open_store, load_nlu, speed=speed, orders_file=orders_file,
                           personas=not no_personas, plugins=plugins)

    # the models load behind, the shop's language first: it answers before all are in
    code = eventloop.run(run_app(settings, open_store, functools.partial(load_nlu, behind=True),
                                 sandbox=sandbox, plugins=plugins))  # a broken secret file: AftercareGroup
    # what a host must provision for the bot (the budget: README, Performance)
    click.echo(f"peak memory: {peak_rss_mb():.0f} MB resident (start-up included)", err=True)
    raise SystemExit(code)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (the kernel's VmHWM): Linux counts
    `ru_maxrss` in KiB, macOS in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
