"""The sandbox honours AFTERCARE_DB, AFTERCARE_HEALTH_PORT and AFTERCARE_WEBHOOK_SECRET, or says
in its one `sandbox:` line what it uses instead; with them set, going-live.md's signed curl
example (run as written, pointed at 127.0.0.1) is accepted by the sandbox's order webhook."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess

import pytest

from bot.config.loading import load_settings
from bot.sandbox.demo import SandboxDemo
from bot.sandbox.environment import sandbox_environment
from bot.store.store import Store
from tests.support.harness import ROOT
from tests.support.table_parser import TableParser

CONFIG = ROOT / "config.yml"
SECRET = "shop-webhook-secret-for-the-sandbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_each_variable_is_honoured_and_named_in_one_line(tmp_path):
    environ = {"AFTERCARE_DB": str(tmp_path / "mine.db"), "AFTERCARE_HEALTH_PORT": "8123",
               "AFTERCARE_WEBHOOK_SECRET": SECRET}
    env = sandbox_environment(load_settings(CONFIG, environ=environ), personas=True, environ=environ)
    assert (env.store, env.health_port, env.orders_secret) == (tmp_path / "mine.db", 8123, SECRET.encode())
    assert env.line.count("\n") == 0 and env.line.startswith("sandbox: ")
    assert "AFTERCARE_DB=" in env.line and "AFTERCARE_HEALTH_PORT=8123" in env.line
    assert "AFTERCARE_WEBHOOK_SECRET" in env.line and SECRET not in env.line


def test_a_store_that_is_not_the_sandboxs_own_is_never_replaced(tmp_path):
    shop = tmp_path / "shop.db"
    Store.open(shop).close()
    environ = {"AFTERCARE_DB": str(shop)}
    env = sandbox_environment(load_settings(CONFIG, environ=environ), personas=True, environ=environ)
    assert env.store != shop and env.store.name == "last-run.db"
    assert f"AFTERCARE_DB={shop} holds a store: left untouched" in env.line


def test_unset_the_sandbox_says_it_uses_its_own(tmp_path):
    env = sandbox_environment(load_settings(CONFIG, environ={}), personas=False, environ={})
    assert env.store.name == "sandbox.db" and env.health_port == 0 and len(env.orders_secret) == 64
    assert env.line.startswith("sandbox: no AFTERCARE_DB")


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("openssl") is None, reason="needs curl and openssl")
def test_going_lives_signed_example_is_accepted_by_the_sandbox(tmp_path):
    port = free_port()
    environ = {"AFTERCARE_HEALTH_PORT": str(port), "AFTERCARE_WEBHOOK_SECRET": SECRET,
               "AFTERCARE_DB": str(tmp_path / "sandbox.db")}
    settings = load_settings(CONFIG, environ=environ)
    env = sandbox_environment(settings, personas=False, environ=environ)
    store = Store.open(env.store)
    demo = SandboxDemo(settings, store, TableParser(), personas=False, health_port=env.health_port,
                       orders_secret=env.orders_secret)
    doc = (ROOT / "docs" / "going-live.md").read_text(encoding="utf-8")
    script = re.search(r"```sh\n(body='\{\"orders\".*?)```", doc, re.S).group(1)
    script = script.replace("https://aftercare.example.com", f"http://127.0.0.1:{port}")

    async def play() -> subprocess.CompletedProcess:
        stop = asyncio.Event()
        running = asyncio.create_task(demo.run(stop))
        while not demo.health_url and not running.done():
            await asyncio.sleep(0.01)
        assert demo.health_url == f"http://127.0.0.1:{port}/healthz"
        done = await asyncio.to_thread(subprocess.run, ["bash", "-c", script], capture_output=True, text=True,
                                       timeout=60, env={"PATH": "/usr/bin:/bin", "AFTERCARE_WEBHOOK_SECRET": SECRET})
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        return done

    done = asyncio.run(play())
    answer = json.loads(done.stdout)
    assert answer["ok"] is True and answer["inserted"] == 1, done.stdout + done.stderr
    assert store.orders.get("W-1001") is not None
    store.close()
