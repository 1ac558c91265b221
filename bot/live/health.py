"""The app's own HTTP server: `GET /healthz` while the loop runs, and the order webhooks on
the same port. Used by `aftercare run` and by the sandbox demo alike."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from bot.channels.base import StartError
from bot.live.core import Core
from bot.webhooks.http import OrderWebhooks, web_app


async def start_health(core: Core, port: int, host: str = "127.0.0.1",
                       webhooks: Optional[OrderWebhooks] = None) -> web.AppRunner:
    """`GET /healthz`: 200 with outbox counts while the loop runs; with `webhooks`, the order
    webhooks on the same server (port 0: any free port, see `runner.addresses`)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "outbox": core.store.outbox.counts(),
                                  "channels": sorted(core.channels)})

    app = web_app(webhooks)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise StartError(f"cannot listen on {host}:{port} for /healthz and the webhooks ({exc.strerror or exc})",
                         "stop what uses that port, or set server.port (AFTERCARE_HEALTH_PORT)") from None
    return runner
