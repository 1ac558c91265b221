"""The shared NLU service (`aftercare nlu serve`) as a real child process, for tests: an
English-only copy of config.yml (the English model the session already has), a fixed port so
a restart after `kill -9` listens where the bots look."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

import yaml

from bot.nlu.remote import service_health

ROOT = Path(__file__).resolve().parents[2]
AFTERCARE = str(Path(sys.executable).parent / "aftercare")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_copy(**nlu: Any) -> Path:
    """config.yml with English only and `nlu` keys replaced, written beside config.yml (its
    relative paths resolve the same); the caller deletes it."""
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    data["nlu"]["languages"] = ["en"]
    data["nlu"].pop("overrides", None)
    data["nlu"].update(nlu)
    fd, name = tempfile.mkstemp(prefix=".nlu-service-", suffix=".yml", dir=ROOT)
    os.write(fd, json.dumps(data).encode("utf-8"))       # JSON is YAML
    os.close(fd)
    return Path(name)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update(PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               RASA_TELEMETRY_ENABLED="false")
    return env


class NluService:
    """`aftercare nlu serve --port PORT` (or `--socket PATH`) in a child process."""

    def __init__(self, config: Path, port: int, socket: Optional[Path] = None) -> None:
        self.config, self.port, self.socket = config, port, socket
        self.proc: Optional[subprocess.Popen] = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"unix:{self.socket}" if self.socket else f"http://127.0.0.1:{self.port}"

    def start(self, loaded_within: float = 240.0) -> "NluService":
        """Start it and wait until its model is loaded."""
        self.launch()
        return self.wait_ready(loaded_within)

    def launch(self) -> None:
        """Start it; return at once."""
        where = ["--socket", str(self.socket)] if self.socket else ["--port", str(self.port)]
        self.proc = subprocess.Popen([AFTERCARE, "--config", str(self.config), "nlu", "serve", *where],
                                     cwd=str(ROOT), env=child_env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def wait_ready(self, loaded_within: float = 240.0) -> "NluService":
        """Wait until its model is loaded."""
        assert self.proc is not None
        deadline = time.monotonic() + loaded_within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the NLU service exited:\n" + "\n".join(self.log[-20:]))
            health = self.health()
            if health and health["ready"]:
                return self
            time.sleep(0.2)
        raise RuntimeError("the NLU service did not load its model in time:\n" + "\n".join(self.log[-20:]))

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.log.append(line.rstrip())

    def health(self) -> Optional[dict]:
        return service_health(self.url)

    def kill(self) -> None:
        """kill -9: no cleanup of any kind."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
