"""What the sandbox takes from the environment it is given, and the one line that says so.

The sandbox (`aftercare run` with no platform tokens) honours AFTERCARE_WEBHOOK_SECRET (its
order webhook checks that secret, so going-live.md's signed example works against it),
AFTERCARE_HEALTH_PORT (its /healthz and webhooks listen there) and AFTERCARE_DB (its store),
except where honouring one would destroy data: the sandbox replaces its store on every run, so
an AFTERCARE_DB that already holds a store other than the sandbox's own is left untouched and
the line says where the run keeps its store instead. Unset, each gets the sandbox's default
(a random secret, any free port, data/last-run.db or data/sandbox.db).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from bot.config.settings import Settings

LAST_RUN_DB = "data/last-run.db"           # with personas: kept so `aftercare report` can read it
PLAYGROUND_DB = "data/sandbox.db"          # --no-personas: kept so `aftercare chat` can join


@dataclass(frozen=True)
class SandboxEnvironment:
    store: Path
    health_port: int                       # 0: any free port
    orders_secret: bytes
    line: str                              # what was honoured and what was overridden, in one line


def sandbox_environment(settings: Settings, personas: bool, keep_at: Optional[Path] = None,
                        environ: Mapping[str, str] = os.environ) -> SandboxEnvironment:
    """The store, port and webhook secret of a sandbox run, and the line that tells them."""
    said: list[str] = []
    default = settings.resolve(LAST_RUN_DB if personas else PLAYGROUND_DB)
    store = Path(keep_at) if keep_at else default
    if keep_at is None and environ.get("AFTERCARE_DB"):
        wanted = Path(settings.resolve(settings.store.path))
        own = {Path(settings.resolve(LAST_RUN_DB)).resolve(), Path(settings.resolve(PLAYGROUND_DB)).resolve()}
        if wanted.exists() and wanted.resolve() not in own:
            said.append(f"AFTERCARE_DB={wanted} holds a store: left untouched, this run's store is {store}")
        else:
            store = wanted
            said.append(f"store AFTERCARE_DB={wanted} (replaced by each run)")
    port = 0
    if environ.get("AFTERCARE_HEALTH_PORT"):
        port = settings.server.port
        said.append(f"/healthz and webhooks on AFTERCARE_HEALTH_PORT={port}")
    configured = settings.webhooks.orders_secret
    if configured is not None and configured.get_secret_value():
        secret = configured.get_secret_value().encode()
        said.append("orders webhook signed with AFTERCARE_WEBHOOK_SECRET")
    else:
        secret = secrets.token_hex(32).encode()
    line = "sandbox: " + ("; ".join(said) if said else
                          "no AFTERCARE_DB, AFTERCARE_HEALTH_PORT or AFTERCARE_WEBHOOK_SECRET set: its own store, "
                          "any free port and a random webhook secret")
    return SandboxEnvironment(Path(store), port, secret, line)
