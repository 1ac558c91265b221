"""The shared NLU service (`aftercare nlu serve`) and its client: the same readings as the
model in process; a service that is down or killed makes a parse wait and then raise
`NluUnavailable` (the message is delivered again later), never a guessed reading."""
from __future__ import annotations

import asyncio
import json
import stat
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.nlu.base import NluUnavailable, aunderstand, understand
from bot.nlu.remote import RemoteParser, service_health
from tests.support.nlu_service import NluService, config_copy, free_port

TEXTS = ("the screen arrived cracked", "thanks a lot!", "I'd give it a 4 out of 5", "talk to a person please",
         "it never arrived", "asdkjh qwe", "")


@pytest.fixture(scope="module")
def service():
    config = config_copy()
    running = NluService(config, free_port()).start()
    yield running
    running.stop()
    config.unlink(missing_ok=True)


def test_the_service_reads_every_message_as_the_model_in_process_does(service, rasa_parser):
    client = RemoteParser(service.url)
    for text in TEXTS:
        assert client.parse(text, "en") == rasa_parser.parse(text), text
    remote = asyncio.run(_aparse_all(client, TEXTS))
    assert remote == [rasa_parser.parse(text) for text in TEXTS]


async def _aparse_all(client: RemoteParser, texts) -> list:
    try:
        return [await client.aparse(text, "en") for text in texts]
    finally:
        await client.aclose()


def test_health_says_which_models_are_loaded(service):
    assert service.health() == {"languages": ["en"], "loaded": ["en"], "ready": True}


def test_a_service_on_a_unix_socket_reads_as_over_tcp_and_only_its_group_may_connect(service, tmp_path):
    config = config_copy()
    on_socket = NluService(config, 0, socket=tmp_path / "run" / "nlu.sock")
    try:
        on_socket.start()
        assert on_socket.url.startswith("unix:/")
        assert service_health(on_socket.url) == {"languages": ["en"], "loaded": ["en"], "ready": True}
        assert stat.S_IMODE(on_socket.socket.stat().st_mode) == 0o660
        client = RemoteParser(on_socket.url)
        assert [client.parse(text, "en") for text in TEXTS] == [RemoteParser(service.url).parse(text, "en")
                                                                 for text in TEXTS]
        assert asyncio.run(_aparse_all(client, TEXTS[:2])) == [client.parse(text, "en") for text in TEXTS[:2]]
    finally:
        on_socket.stop()
        config.unlink(missing_ok=True)


def test_health_of_a_service_that_is_not_there_is_none(tmp_path):
    assert service_health(f"http://127.0.0.1:{free_port()}") is None
    assert service_health(f"unix:{tmp_path / 'nobody.sock'}") is None


def test_a_bad_request_gets_400_naming_the_field(service):
    request = urllib.request.Request(f"{service.url}/parse", data=json.dumps({"text": 5}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert json.loads(refused.value.read()) == {"error": 'POST /parse: "text" is a string'}


def test_a_service_that_is_down_makes_the_parse_wait_then_raise_never_guess():
    client = RemoteParser(f"http://127.0.0.1:{free_port()}", timeout=0.5, wait=1.0)
    started = time.monotonic()
    with pytest.raises(NluUnavailable, match="did not answer for 1 s"):
        understand(client, "the screen arrived cracked", "en")
    assert 0.9 <= time.monotonic() - started < 5      # it retried for `wait`, then gave up
    with pytest.raises(NluUnavailable):
        asyncio.run(aunderstand(client, "the screen arrived cracked", "en"))


def test_serve_refuses_a_public_address():
    result = CliRunner().invoke(main, ["nlu", "serve", "--listen", "0.0.0.0"])
    assert result.exit_code == 1
    assert "--listen 0.0.0.0: the NLU service has no authentication" in result.output


def test_a_service_url_off_loopback_is_refused_naming_the_key():
    from pydantic import ValidationError

    from bot.config.settings import NluSettings

    for url in ("http://10.0.0.1:5055", "https://127.0.0.1:5055", "unix:relative.sock"):
        with pytest.raises(ValidationError, match="url"):
            NluSettings(url=url)
    assert NluSettings(url="unix:/run/aftercare-nlu/nlu.sock").url == "unix:/run/aftercare-nlu/nlu.sock"
    assert NluSettings(url=" ").url is None          # unset: models in process


def test_a_request_the_service_held_while_loading_is_asked_again_at_once():
    """A restarted service holds a request up to LOADING_WAIT for its model, then says 503: the
    client asks again at once (its backoff counts from the attempt's start), so a model that
    loads just after gets the message without a backoff sleep on top (#27's restart figure)."""
    from aiohttp import web

    from bot.nlu.base import parse_to_json
    from bot.base.parse import Parse

    asked: list[tuple[float, float]] = []        # (start, end) of each request at the service

    async def parse(request: web.Request) -> web.Response:
        started = time.monotonic()
        await request.read()
        if len(asked) < 2:
            await asyncio.sleep(0.5)             # held while the model loads, then 503
            asked.append((started, time.monotonic()))
            return web.json_response({"error": "the en NLU model is still loading"}, status=503)
        asked.append((started, time.monotonic()))
        return web.json_response(parse_to_json(Parse(text="thanks", intent="thanks", confidence=0.9)))

    async def run() -> Parse:
        app = web.Application()
        app.router.add_post("/parse", parse)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        client = RemoteParser(f"http://127.0.0.1:{port}", timeout=5, wait=10)
        try:
            return await client.aparse("thanks", "en")
        finally:
            await client.aclose()
            await runner.cleanup()

    assert asyncio.run(run()).intent == "thanks"
    assert len(asked) == 3
    gaps = [later[0] - earlier[1] for earlier, later in zip(asked, asked[1:])]
    assert max(gaps) < 0.1, gaps                 # no backoff sleep after a held request
