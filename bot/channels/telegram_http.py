"""python-telegram-bot's HTTP calls made with aiohttp instead of httpx.

PTB's `Bot` builds every request, maps each status to its exception and parses each answer
itself; only the bytes on the wire go through a `BaseRequest`, and PTB documents that class as
the place for another HTTP library. httpx with httpcore and anyio cost ~2.4 ms of CPU per call
on this machine, aiohttp (already a dependency: webhooks, Slack) ~0.5 ms; on a 50-customer
back-to-back load that was a quarter of the bot's CPU per message. aiohttp also makes its TLS
context once per process, lazily: a loopback `http://` Bot API never loads the CA bundle,
where each httpx client loaded it at construction.
"""
from __future__ import annotations

import asyncio
import re
import urllib.request
from typing import Optional

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's own default for each timeout (seconds).
DEFAULT_TIMEOUT = 5.0
_TOKEN_PATH = re.compile(r"/(?:file/)?bot[^/\s]+")


class AiohttpRequest(BaseRequest):
    """One keep-alive connection pool of `pool_size` connections (HTTP/1.1) to the Bot API.

    Made in `initialize` (aiohttp wants a running loop), closed in `shutdown`; both may be
    called again (PTB's `Bot.initialize`/`shutdown` call them, and a channel may reconnect)."""

    def __init__(self, *, pool_size: int = 8, connect_timeout: Optional[float] = DEFAULT_TIMEOUT,
                 read_timeout: Optional[float] = DEFAULT_TIMEOUT, write_timeout: Optional[float] = DEFAULT_TIMEOUT,
                 pool_timeout: Optional[float] = 1.0) -> None:
        self._pool_size = pool_size
        self._timeouts = dict(connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout)
        self._session: Optional[aiohttp.ClientSession] = None
        self._timeouts_made: dict[tuple, aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> Optional[float]:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),      # the Bot API sets none: no jar work per call
                headers={"User-Agent": self.USER_AGENT},
                # like httpx: HTTP(S)_PROXY honoured (and NO_PROXY with it) when one is set; without
                # one, no proxy and ~/.netrc lookups on every call (NO_PROXY alone changes nothing)
                trust_env=_proxy_set())

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(self, url: str, method: str, request_data: Optional[RequestData] = None,
                         read_timeout: object = BaseRequest.DEFAULT_NONE,
                         write_timeout: object = BaseRequest.DEFAULT_NONE,
                         connect_timeout: object = BaseRequest.DEFAULT_NONE,
                         pool_timeout: object = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        """The call's status and body; `TimedOut` or `NetworkError` when there is none."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._timeout(self._pick(pool_timeout, "pool"), self._pick(connect_timeout, "connect"),
                                self._pick(write_timeout, "write"), self._pick(read_timeout, "read"))
        data: object = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData(request_data.json_parameters)
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                # the parameters as one JSON object (PTB's `json_payload`: the same values as the
                # form fields; the Bot API reads a JSON body as it reads a form): json.dumps in C
                # instead of quoting every field and aiohttp's form machinery, ~0.1 ms a call
                data = aiohttp.BytesPayload(request_data.json_payload, content_type="application/json")
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # a Bot API URL holds the token: never in a message that may be logged
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {_TOKEN_PATH.sub('/bot…', str(exc))}") from exc

    def _timeout(self, pool: Optional[float], connect: Optional[float], write: Optional[float],
                 read: Optional[float]) -> aiohttp.ClientTimeout:
        """aiohttp has no write timeout of its own: the total bounds pool + connect + write + read.
        Made once per set of values (a call would otherwise build one each time)."""
        key = (pool, connect, write, read)
        timeout = self._timeouts_made.get(key)
        if timeout is None:
            parts = [t for t in key if t is not None]
            timeout = aiohttp.ClientTimeout(total=sum(parts) if len(parts) == 4 else None,
                                            sock_connect=connect, sock_read=read)
            if len(self._timeouts_made) >= 16:      # a caller passing ever new values
                self._timeouts_made.clear()
            self._timeouts_made[key] = timeout
        return timeout

    def _pick(self, given: object, name: str) -> Optional[float]:
        if isinstance(given, (int, float)) or given is None:
            return given
        return self._timeouts[name]     # PTB's DefaultValue: ours


def _proxy_set() -> bool:
    """Whether the environment names a proxy (`no` is NO_PROXY: a list of exceptions only)."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


__all__ = ["AiohttpRequest"]
