"""The bot's pending updates, handed out by long polling or pushed to a webhook.

Telegram's semantics, reproduced: update ids rise; `getUpdates(offset)` returns updates whose
id is >= offset and forgets ("confirms") those below it; an unconfirmed update is returned
again; a long poll waits up to `timeout` seconds for something to arrive; a second poller
terminates the first with 409. `redeliver` replays an update with its original id, as
Telegram does when a confirmation or webhook answer was lost, so that dedup can be tested.
"""
from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any, Optional

from bot.sandbox.platforms.telegram_request import conflict

JSON = dict[str, Any]


@dataclass
class Pending:
    update: JSON
    replay: bool = False       # a redelivery: returned whatever the offset, once
    handed_out: bool = False

    @property
    def update_id(self) -> int:
        return self.update["update_id"]


class UpdateQueue:
    """Pending updates in delivery order, with long-poll waiting."""

    def __init__(self, first_update_id: int = 100_000) -> None:
        self._pending: list[Pending] = []
        self._history: dict[int, JSON] = {}
        self._next_id = first_update_id
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closed = False

    # -- producing ---------------------------------------------------------------------
    def add(self, body: JSON) -> JSON:
        """Queue a new update built from `body` (e.g. {"message": {...}}); returns it with its id."""
        update = {"update_id": self._next_id, **{k: v for k, v in body.items() if k != "update_id"}}
        self._next_id += 1
        return self._enqueue(update)

    def add_raw(self, update: JSON) -> JSON:
        """Queue an update as given; an `update_id` is assigned only when it has none."""
        if "update_id" not in update:
            return self.add(update)
        self._next_id = max(self._next_id, int(update["update_id"]) + 1)
        return self._enqueue(copy.deepcopy(update))

    def redeliver(self, update_id: int) -> JSON:
        """Deliver an earlier update again, same id, as after a lost confirmation."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever queued")
        update = copy.deepcopy(self._history[update_id])
        self._pending.insert(self._replays_end(), Pending(update, replay=True))
        self._notify()
        return update

    def _enqueue(self, update: JSON) -> JSON:
        self._history[update["update_id"]] = copy.deepcopy(update)
        self._pending.append(Pending(update))
        self._notify()
        return update

    def _replays_end(self) -> int:
        """Replays go first, so the last update of a batch keeps the highest id: a client
        that confirms `last id + 1` then never skips a newer update."""
        index = 0
        while index < len(self._pending) and self._pending[index].replay:
            index += 1
        return index

    # -- long polling ------------------------------------------------------------------
    async def poll(self, offset: int, limit: int, timeout: float) -> list[JSON]:
        """One getUpdates call. Raises 409 if a newer getUpdates supersedes this one."""
        self._poll_generation += 1
        me = self._poll_generation
        self._notify()
        if offset > 0:
            self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            if me != self._poll_generation:
                raise conflict("terminated by other getUpdates request; "
                               "make sure that only one bot instance is running")
            batch = self._ready(offset, limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closed:
                for entry in batch:
                    entry.handed_out = True
                return [copy.deepcopy(entry.update) for entry in batch]
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _confirm(self, offset: int) -> None:
        self._pending = [
            entry for entry in self._pending
            if entry.update_id >= offset or (entry.replay and not entry.handed_out)
        ]

    def _ready(self, offset: int, limit: int) -> list[Pending]:
        if offset < 0:
            chosen = self._pending[offset:]
        else:
            chosen = [e for e in self._pending if e.update_id >= offset or e.replay]
        return chosen[: max(1, min(limit, 100))]

    # -- webhook -----------------------------------------------------------------------
    def first(self) -> Optional[Pending]:
        return self._pending[0] if self._pending else None

    def remove(self, entry: Pending) -> None:
        if entry in self._pending:
            self._pending.remove(entry)

    async def wait_for_change(self, timeout: Optional[float] = None) -> None:
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # -- housekeeping ------------------------------------------------------------------
    def drop_pending(self) -> int:
        dropped = len(self._pending)
        self._pending.clear()
        self._notify()
        return dropped

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def get(self, update_id: int) -> JSON:
        return copy.deepcopy(self._history[update_id])

    def close(self) -> None:
        """Wake every waiter; long polls return empty."""
        self._closed = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
