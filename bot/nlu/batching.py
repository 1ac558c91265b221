"""Parse what waits together: messages that arrive while a model is busy are read in its next
run as one batch (`RasaParser.parse_many`: one graph run, Rasa's per-message overhead paid
once), never held back to fill one: a lone message is parsed at once.

Used by the router's `aparse` (the bot with its models in process: several customers writing
at once) and by `aftercare nlu serve` (concurrent requests from many shops' bots).
"""
from __future__ import annotations

import asyncio
import collections
import weakref
from typing import Callable, Optional, Sequence

from bot.base.parse import Parse

MAX_BATCH = 16          # a batch's messages get their answers together: keep the last one's wait short


class Batcher:
    """One model's queue: `aparse` from the event loop; the batches run in a worker thread,
    one at a time (the model reads one batch at a time anyway)."""

    def __init__(self, parse_many: Callable[[Sequence[str]], list[Parse]], max_batch: int = MAX_BATCH,
                 shared_errors: tuple[type[BaseException], ...] = ()) -> None:
        """`shared_errors`: failures that are the model's, not a message's (still loading, did
        not load): every message of the batch gets them. Any other failure of a batch is
        narrowed down by reading its messages one by one, so only the message the model fails
        on is not understood."""
        self._parse_many = parse_many
        self._max = max_batch
        self._shared = shared_errors
        self._waiting: collections.deque[tuple[str, asyncio.Future[Parse]]] = collections.deque()
        self._worker: Optional[asyncio.Task[None]] = None

    async def aparse(self, text: str) -> Parse:
        future: asyncio.Future[Parse] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = [self._waiting.popleft() for _ in range(min(self._max, len(self._waiting)))]
            batch = [(text, future) for text, future in batch if not future.done()]   # callers gone
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self._read, [text for text, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _read(self, texts: list[str]) -> list[Parse | BaseException]:
        """The batch's readings, or for each message the exception it failed with."""
        try:
            return list(self._parse_many(texts))
        except self._shared as exc:
            return [exc] * len(texts)
        except Exception as exc:  # noqa: BLE001 - narrowed down below; each caller gets its own
            if len(texts) == 1:
                return [exc]
        results: list[Parse | BaseException] = []
        for text in texts:
            results.extend(self._read([text]))
        return results


class Batchers:
    """One `Batcher` per event loop and key (a router's reading language): a batch's answers
    are futures of the loop that asked, so loops never share a queue."""

    def __init__(self, make: Callable[[object], Batcher]) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[object, Batcher]] = \
            weakref.WeakKeyDictionary()

    def get(self, key: object) -> Batcher:
        mine = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        batcher = mine.get(key)
        if batcher is None:
            batcher = mine[key] = self._make(key)
        return batcher
