"""`aftercare nlu serve`: one process per host holds the models, every shop's bot asks it.

Six languages' models are ~0.7 GB and seconds to load; a host running the bot for many shops
pays that once here instead of once per shop. The service listens on loopback TCP or a UNIX
socket (never a public address: it has no authentication) and answers `POST /parse`
({"text", "language"}) with the `Parse` as JSON, one request per message (requests that wait
for the same model meanwhile are read in one batch: bot/nlu/batching.py); `GET /healthz`
says which models are loaded. It listens at once and loads the models behind, the default
language first: a message whose model is still loading gets 503 after `LOADING_WAIT` seconds,
and the client asks again.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from bot.nlu.base import not_understood, parse_to_json
from bot.nlu.languages import LanguageRouter, ModelUnavailable

log = logging.getLogger(__name__)

LOADING_WAIT = 5.0       # seconds a request waits for its model before a 503 (the client retries)
MAX_TEXT = 4000          # as the inbound handler cuts a message
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def build_app(router: LanguageRouter) -> web.Application:
    """The service's routes over a (possibly still loading) router."""
    app = web.Application(client_max_size=64 * 1024)
    app["router"] = router
    app.router.add_post("/parse", _parse)
    app.router.add_get("/healthz", _health)
    return app


async def _parse(request: web.Request) -> web.Response:
    router: LanguageRouter = request.app["router"]
    try:
        body = json.loads(await request.read())
        if not isinstance(body, dict):
            raise ValueError("the body is a JSON object")
        text, language = body.get("text"), body.get("language")
        if not isinstance(text, str):
            raise ValueError('"text" is a string')
        if language is not None and not isinstance(language, str):
            raise ValueError('"language" is a string or null')
    except ValueError as exc:
        return web.json_response({"error": f"POST /parse: {exc}"}, status=400)
    text = text[:MAX_TEXT]
    try:
        parse = await router.aparse_waiting(text, language, LOADING_WAIT)     # batched with the others waiting
    except (TimeoutError, ModelUnavailable) as exc:
        return web.json_response({"error": str(exc)}, status=503, headers={"Retry-After": "1"})
    except Exception:  # noqa: BLE001 - as in process: a message the model fails on is not understood
        log.exception("NLU failed on a message; answering not understood")
        parse = not_understood(text)
    return web.json_response(parse_to_json(parse))


async def _health(request: web.Request) -> web.Response:
    router: LanguageRouter = request.app["router"]
    loaded = router.loaded
    return web.json_response({"languages": router.languages, "loaded": loaded,
                              "ready": len(loaded) == len(router.languages)})


async def serve(router: LanguageRouter, *, host: str = "127.0.0.1", port: int = 5055,
                socket_path: Optional[Path] = None, stop: Optional[asyncio.Event] = None) -> None:
    """Listen until `stop` is set. Refuses a non-loopback address (there is no authentication)."""
    runner = web.AppRunner(build_app(router), access_log=None, handle_signals=False)
    await runner.setup()
    if socket_path is not None:
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        socket_path.unlink(missing_ok=True)        # a killed service leaves its socket file behind
        site: web.BaseSite = web.UnixSite(runner, str(socket_path), shutdown_timeout=2.0)
        where = f"unix:{socket_path}"
    else:
        if host not in LOOPBACK:
            raise ValueError(f"--listen {host}: the NLU service has no authentication; listen on 127.0.0.1, "
                             "::1 or a UNIX socket")
        site = web.TCPSite(runner, host, port, shutdown_timeout=2.0)
        where = ""
    await site.start()
    if socket_path is not None:
        os.chmod(socket_path, 0o660)                # the shops' bots share the service's group
    else:
        address: Any = runner.addresses[0]
        where = f"http://{host}:{address[1]}"
    log.info("NLU service ready: %s, languages %s (models loading behind)", where, ", ".join(router.languages))
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
