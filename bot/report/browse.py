"""`aftercare browse`: the store in Datasette on 127.0.0.1, read-only, with descriptions of every
table and column and canned queries (bot.store.browse).

Two guards, because the store holds customers' personal data: the server answers only requests
whose Host is localhost or 127.0.0.1 (a web page elsewhere cannot reach it by DNS rebinding: its
requests carry its own host name); and without `personal=True` (`--personal`) the tables and
canned queries that hold names, addresses and words are refused and arbitrary SQL is off, so
only the figures are there to browse.

Datasette opens a file it may not write with `?mode=ro`, so the bot can keep running and writing
beside it; `--immutable` opens a copy nobody writes (faster counts, a download link) instead.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import uvicorn
from datasette.app import Datasette

from bot.store.browse import datasette_metadata

HOST = "127.0.0.1"       # never a public address: the store holds customers' personal data
ALLOWED_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
ASGI = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def loopback_only(app: ASGI) -> ASGI:
    """The ASGI app, answering 421 to any request whose Host header is not this machine's name."""

    async def guarded(scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope.get("type") in ("http", "websocket") and _host(scope) not in ALLOWED_HOSTS:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = b"aftercare browse answers only Host localhost or 127.0.0.1\n"
            await send({"type": "http.response.start", "status": 421,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return guarded


def _host(scope: dict) -> str:
    """The Host header's name, lowercased, without its port (empty when absent)."""
    raw: Any = next((value for name, value in scope.get("headers", []) if name == b"host"), b"")
    host = raw.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def make_datasette(path: Path, immutable: bool = False, personal: bool = False) -> Datasette:
    """A Datasette over the store at `path` (read-only), with our metadata and canned queries;
    the personal tables, queries and arbitrary SQL only with `personal`."""
    name = path.stem
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    return Datasette(**files, metadata=datasette_metadata(name, personal=personal),
                     settings={"allow_download": immutable and personal, "default_page_size": 50,
                               "sql_time_limit_ms": 3000, "default_allow_sql": personal})


def serve(path: Path, port: int = 8001, immutable: bool = False, personal: bool = False,
          ready: Optional[Callable[[str], None]] = None) -> None:
    """Serve until interrupted; `ready` gets the URL once the socket is bound (port 0: any free one)."""
    datasette = make_datasette(path, immutable, personal)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn.Config(loopback_only(datasette.app()), log_level="warning", ws="none",
                                           lifespan="on"))
    if ready:
        ready(url)
    server.run(sockets=[sock])
