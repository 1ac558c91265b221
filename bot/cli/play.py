"""`aftercare simulate` and `aftercare chat`: play the customer, scripted or by hand."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import click

from bot.cli.common import load_nlu, open_store, plugins_of, settings_from
from bot.sandbox.scenario import ScenarioError
from bot.store.store import Store


@click.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_file", type=click.Path(dir_okay=False),
              help="Keep the run's store in this new file (for `AFTERCARE_DB=FILE aftercare report`).")
@click.pass_context
def simulate(ctx: click.Context, scenario: str, db_file: Optional[str]) -> None:
    """Play SCENARIO.yml through the real engine, store and NLU on a simulated clock; print one JSON object."""
    from bot.sandbox.scenario import load_scenario
    from bot.sandbox.simulate import simulate_file

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = settings_from(ctx)
    plugins = plugins_of(ctx)
    try:
        load_scenario(scenario, plugins.channels())
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if db_file and Path(db_file).exists():
        raise click.ClickException(f"{db_file} already exists; --db keeps a run in a new file")
    parser = load_nlu(settings)
    store = Store.open(db_file) if db_file else None
    try:
        result = asyncio.run(simulate_file(scenario, settings, parser, store, plugins=plugins))
    except ScenarioError as exc:          # a move that cannot be played (tell_fixed with an unknown SKU, ...)
        raise click.ClickException(str(exc)) from None
    finally:
        if store:
            store.close()
    click.echo(json.dumps(result, ensure_ascii=False))


@click.command()
@click.option("--order", "order_id", required=True, help="Play the customer of this (imported) order.")
@click.pass_context
def chat(ctx: click.Context, order_id: str) -> None:
    """Be the customer of ORDER in the terminal against the real engine and store (buttons are numbered)."""
    from bot.live.chat import run_chat

    settings = settings_from(ctx)
    store = open_store(settings)
    if store.orders.get(order_id) is None:
        raise click.ClickException(f"order {order_id!r} is not in {settings.store.path}; import it with `aftercare orders import`")
    asyncio.run(run_chat(settings, store, load_nlu(settings), order_id, plugins_of(ctx)))
