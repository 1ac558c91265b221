"""A real `aftercare run` child with `nlu.url` against the loopback Bot API and a real NLU
service child, set up as docs/hosting.md says (the service on a UNIX socket, the shop's config
outside the release named by AFTERCARE_CONFIG): it answers as the models read, imports neither
TensorFlow nor Rasa, and when the service is killed with kill -9 mid-stream, no customer message
is lost or misread: the messages wait (their updates stay unconfirmed) and are answered once it
is back."""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.sandbox.platforms.telegram_customers import prepare_quiet_customers
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from tests.support.nlu_service import ROOT, NluService, child_env, config_copy

FIRST_CHAT = 810_000
TEXTS = ("thanks a lot!", "the screen arrived cracked", "hello")
# `aftercare run`, with the modules it imported written to a file at exit
WRAPPER = ("import atexit, json, sys\n"
           "out = sys.argv.pop(1)\n"
           "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
           "from bot.cli import main\n"
           "main(prog_name='aftercare')\n")


class Replies:
    def __init__(self) -> None:
        self.by_chat: dict[int, list[str]] = defaultdict(list)

    def on_send(self, message: dict) -> None:
        self.by_chat[message["chat"]["id"]].append(message.get("text") or message.get("caption") or "")

    async def first(self, chat: int, timeout: float) -> tuple[str, ...]:
        deadline = time.monotonic() + timeout
        while not self.by_chat.get(chat):
            if time.monotonic() > deadline:
                raise AssertionError(f"chat {chat}: no reply within {timeout:.0f} s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)              # a reply may be a burst of messages
        return tuple(self.by_chat[chat])


def hosted_config(folder: Path, url: str) -> Path:
    """A shop's config as docs/hosting.md sets one up: a copy of the release's config.yml in
    another folder, with the page's block of settings (the release's folders, the service's
    socket) merged in."""
    page = (ROOT / "docs" / "hosting.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block, "docs/hosting.md shows a shop's config block"
    settings = yaml.safe_load(block.group(1).replace("/opt/aftercare", str(ROOT))
                              .replace("unix:/run/aftercare-nlu/nlu.sock", url))
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for key, value in settings.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    data["nlu"].update(languages=["en"], timeout=5.0, wait=20.0)
    data["nlu"].pop("overrides", None)
    path = folder / "etc" / "shop-a.yml"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")        # JSON is YAML
    return path


async def _scenario(tmp: Path) -> dict:
    service_config = config_copy()
    service = NluService(service_config, 0, socket=tmp / "nlu.sock")
    bot_config = hosted_config(tmp, service.url)
    db, modules = tmp / "shop.db", tmp / "modules.json"
    prepare_quiet_customers(db, ROOT / "config.yml", 20, FIRST_CHAT, "S")
    replies = Replies()
    result: dict = {}
    try:
        service.start()
        async with TelegramSandbox(on_send=replies.on_send) as api:
            for n in range(20):
                await api.add_user(FIRST_CHAT + n)
            env = child_env()
            env.update(TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.url, AFTERCARE_DB=str(db),
                       AFTERCARE_HEALTH_PORT="0", AFTERCARE_CONFIG=str(bot_config))
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WRAPPER, str(modules), "run",
                env=env, cwd=str(ROOT), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            log: list[str] = []
            ready = asyncio.get_running_loop().create_future()

            async def read() -> None:
                assert bot.stderr is not None
                async for raw in bot.stderr:
                    log.append(raw.decode(errors="replace").rstrip())
                    if " ready: " in log[-1] and not ready.done():
                        ready.set_result(True)

            reader = asyncio.create_task(read())
            try:
                exited = asyncio.ensure_future(bot.wait())
                await asyncio.wait({ready, exited}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
                exited.cancel()
                assert ready.done(), "the bot did not get ready:\n" + "\n".join(log[-20:])
                # what each text gets while the service is up: the readings to compare with
                control = {}
                for n, text in enumerate(TEXTS):
                    await api.user_sends(FIRST_CHAT + n, text)
                    control[text] = await replies.first(FIRST_CHAT + n, 60)
                result["control"] = control
                # mid-stream: two answered, kill -9, four more written while it is down
                chat_texts = {FIRST_CHAT + 3 + n: TEXTS[n % len(TEXTS)] for n in range(6)}
                chats = list(chat_texts)
                for chat in chats[:2]:
                    await api.user_sends(chat, chat_texts[chat])
                await asyncio.sleep(0.2)
                service.kill()
                for chat in chats[2:]:
                    await api.user_sends(chat, chat_texts[chat])
                await asyncio.sleep(2.0)
                result["answered_while_down"] = sum(bool(replies.by_chat.get(c)) for c in chats[2:])
                service.launch()
                await asyncio.to_thread(service.wait_ready)
                result["got"] = {chat: await replies.first(chat, 90) for chat in chats}
                result["expected"] = {chat: control[text] for chat, text in chat_texts.items()}
            finally:
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), 60)
                await reader
            result["log"] = log
    finally:
        service.stop()
        service_config.unlink(missing_ok=True)
    result["modules"] = json.loads(modules.read_text()) if modules.exists() else None
    result["all_replies"] = dict(replies.by_chat)
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return asyncio.run(_scenario(tmp_path_factory.mktemp("shared-nlu")))


def test_a_bot_using_the_service_imports_neither_tensorflow_nor_rasa(scenario):
    modules = scenario["modules"]
    assert modules, "the bot wrote no module list:\n" + "\n".join(scenario["log"][-20:])
    assert "bot.nlu.remote" in modules and "aiohttp" in modules     # it did use the client
    heavy = [m for m in modules if m.split(".")[0] in ("tensorflow", "rasa", "keras", "sklearn")]
    assert heavy == []


def test_a_killed_service_loses_and_misreads_no_customer_message(scenario):
    control = scenario["control"]
    assert len(set(control.values())) == len(control)      # three texts, three different answers
    assert scenario["answered_while_down"] == 0             # nothing guessed while it was down
    assert scenario["got"] == scenario["expected"]          # each answered as the model reads it
    # one answer each, none twice (counted after the bot stopped)
    assert {chat: tuple(scenario["all_replies"][chat]) for chat in scenario["expected"]} == scenario["expected"]
