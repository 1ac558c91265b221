"""`aftercare browse`: the store in Datasette on 127.0.0.1, read-only, with descriptions of every
table and column and canned queries (bot.store.browse).

Datasette opens a file it may not write with `?mode=ro`, so the bot can keep running and writing
beside it; `--immutable` opens a copy nobody writes (faster counts, a download link) instead.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable, Optional

import uvicorn
from datasette.app import Datasette

from bot.store.browse import datasette_metadata

HOST = "127.0.0.1"       # never a public address: the store holds customers' personal data


def make_datasette(path: Path, immutable: bool = False) -> Datasette:
    """A Datasette over the store at `path` (read-only), with our metadata and canned queries."""
    name = path.stem
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    return Datasette(**files, metadata=datasette_metadata(name),
                     settings={"allow_download": immutable, "default_page_size": 50, "sql_time_limit_ms": 3000})


def serve(path: Path, port: int = 8001, immutable: bool = False,
          ready: Optional[Callable[[str], None]] = None) -> None:
    """Serve until interrupted; `ready` gets the URL once the socket is bound (port 0: any free one)."""
    datasette = make_datasette(path, immutable)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn.Config(datasette.app(), log_level="warning", ws="none", lifespan="on"))
    if ready:
        ready(url)
    server.run(sockets=[sock])
