"""The shared NLU service's client: the `Parser` a shop's bot uses when config.yml names
`nlu.url`, so the bot process loads no model (and imports neither TensorFlow nor Rasa).

Each parse is one HTTP request (`POST /parse`) over loopback TCP or a UNIX socket. A request
that times out, cannot connect or gets a 5xx is retried (backoff 0.2 s doubling to 1 s, counted from each attempt's start) for
up to `wait` seconds; after that the parse raises `NluUnavailable`, which the channel turns
into "not confirmed": the platform delivers the message again, so it is never guessed at and
never lost. A 4xx answer is a bug in the request: it raises ValueError (the message is then
not understood, as when the in-process model fails on it).
"""
from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar
from urllib.parse import urlsplit

import aiohttp

from bot.nlu.base import NluUnavailable, Parse, parse_from_json

FIRST_DELAY = 0.2
MAX_DELAY = 1.0          # a restarted service is asked again at most 1 s after it listens
T = TypeVar("T")


class Endpoint:
    """Where the service listens: `http://127.0.0.1:5055` or `unix:/run/aftercare-nlu/nlu.sock`."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("unix:"):
            self.socket_path: Optional[str] = url[len("unix:"):].removeprefix("//") or None
            if not self.socket_path or not self.socket_path.startswith("/"):
                raise ValueError(f"nlu.url {url!r}: a UNIX socket is unix:/absolute/path")
            self.base, self.host, self.port = "http://localhost", "localhost", 80
            return
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"nlu.url {url!r}: expected http://HOST:PORT or unix:/path/to/socket")
        self.socket_path = None
        self.host, self.port = parts.hostname, parts.port or 80
        self.base = f"http://{parts.netloc}"


class RemoteParser:
    """A `Parser` that asks the shared NLU service (`aftercare nlu serve`)."""

    def __init__(self, url: str, timeout: float = 10.0, wait: float = 30.0) -> None:
        self.endpoint = Endpoint(url)
        self.timeout = timeout
        self.wait = wait
        self._session: Optional[aiohttp.ClientSession] = None

    # ---- from the event loop ---------------------------------------------------------

    async def aparse(self, text: str, language: Optional[str] = None) -> Parse:
        body = {"text": text, "language": language}
        return await self._retrying(lambda: self._apost(body), asyncio.sleep)

    async def _apost(self, body: dict[str, Any]) -> Parse:
        session = self._client()
        try:
            async with session.post(f"{self.endpoint.base}/parse", json=body) as response:
                data = await response.read()
                return _answer(response.status, data)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = (aiohttp.UnixConnector(path=self.endpoint.socket_path) if self.endpoint.socket_path
                         else aiohttp.TCPConnector(limit=32))
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool (the bot calls it on the way out)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], sleep: Callable[[float], Awaitable[None]]) -> T:
        deadline = time.monotonic() + self.wait
        delay = FIRST_DELAY
        while True:
            started = time.monotonic()
            try:
                return await attempt()
            except _Retry as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NluUnavailable(f"the NLU service at {self.endpoint.url} did not answer for "
                                         f"{self.wait:.0f} s ({exc})") from None
            await sleep(_pause(delay, started, left))
            delay = min(delay * 2, MAX_DELAY)

    # ---- from a thread without a loop (the CLI) ---------------------------------------

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        body = json.dumps({"text": text, "language": language}).encode("utf-8")
        deadline = time.monotonic() + self.wait
        delay = FIRST_DELAY
        while True:
            started = time.monotonic()
            try:
                return self._post(body)
            except _Retry as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NluUnavailable(f"the NLU service at {self.endpoint.url} did not answer for "
                                         f"{self.wait:.0f} s ({exc})") from None
            time.sleep(_pause(delay, started, left))
            delay = min(delay * 2, MAX_DELAY)

    def _post(self, body: bytes) -> Parse:
        connection = _connection(self.endpoint, self.timeout)
        try:
            connection.request("POST", "/parse", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return _answer(response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        finally:
            connection.close()


def service_health(url: str, timeout: float = 2.0) -> Optional[dict[str, Any]]:
    """The service's `GET /healthz` ({"languages", "loaded", "ready"}), or None while it does not
    answer: what a deploy script or a bench polls before sending shops its way."""
    endpoint = Endpoint(url)
    connection = _connection(endpoint, timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        if response.status != 200:
            return None
        answer = json.loads(response.read())
        return answer if isinstance(answer, dict) else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()


def _connection(endpoint: Endpoint, timeout: float) -> http.client.HTTPConnection:
    if endpoint.socket_path:
        return _UnixConnection(endpoint.socket_path, timeout)
    return http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)


def _pause(delay: float, started: float, left: float) -> float:
    """How long to wait before the next attempt: `delay` counted from the start of the failed
    attempt, so an attempt the service held (a 503 after waiting `LOADING_WAIT` for a model that
    is still loading) is followed at once, and a refused connection waits the backoff; never
    past the deadline (a last try at it)."""
    return max(0.0, min(delay - (time.monotonic() - started), left))


class _Retry(Exception):
    """This attempt failed in a way that a later one may not (down, loading, timed out)."""


def _answer(status: int, data: bytes) -> Parse:
    if status >= 500:
        raise _Retry(f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}")
    if status != 200:
        raise ValueError(f"the NLU service refused the request: HTTP {status}: "
                         f"{data[:200].decode('utf-8', 'replace')}")
    try:
        return parse_from_json(json.loads(data))
    except ValueError as exc:          # a half-written answer from a dying service: ask again
        raise _Retry(f"unreadable answer: {exc}") from None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock
