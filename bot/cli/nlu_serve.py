"""`aftercare nlu serve`: the shared NLU service (bot/nlu/service.py) for every shop on a host."""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Optional

import click

from bot.cli.common import freeze_heap
from bot.live import eventloop
from bot.live.mainloop import stop_on_signals
from bot.nlu.languages import LanguageRouter, load_parser
from bot.nlu.rasa_nlu import ModelNotTrainedError, load_nlu_settings


@click.command()
@click.option("--listen", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=5055, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0: any free one; the log says which).")
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False),
              help="Listen on this UNIX socket instead (shops then set nlu.url: unix:/path).")
@click.pass_context
def serve(ctx: click.Context, listen: str, port: int, socket_path: Optional[str]) -> None:
    """Hold the trained models once for every shop's bot on this host (shops set nlu.url)."""
    from bot.nlu.service import LOOPBACK, serve as serve_forever

    if socket_path is None and listen not in LOOPBACK:
        raise click.ClickException(f"--listen {listen}: the NLU service has no authentication; listen on "
                                   "127.0.0.1, ::1 or a UNIX socket")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config_path = Path((ctx.find_root().obj or {}).get("config_path", "config.yml"))
    try:
        settings = load_nlu_settings(config_path)
        router = load_parser(settings, behind=True, on_loaded=freeze_heap)
    except (ModelNotTrainedError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    assert isinstance(router, LanguageRouter)
    # a parse runs in a worker thread; a short switch interval keeps the loop answering
    sys.setswitchinterval(0.001)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve_forever(router, host=listen, port=port,
                            socket_path=Path(socket_path).resolve() if socket_path else None, stop=stop)

    try:
        eventloop.run(main())           # uvloop where installed: the service's HTTP in C
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

