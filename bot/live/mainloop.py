"""The bot's one main loop. At each instant it does the calendar's work (customers imported by
email get an address, those whose language nothing tells get their platform's, the daily
retention and weekly digest, due touchpoints, wake-ups and case reminders), and the dispatcher
sends what is due.

Three drivers share it: `aftercare run` on the wall clock (`run`: the dispatcher sends on its
own task, woken by every outbox commit), and the sandbox demo and `simulate` on a simulated
clock they move themselves (`step`: everything due at one instant, then when to come back).
"""
from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from typing import NamedTuple, Optional

from bot.live.core import Core
from bot.schedule.scheduler import Hold
from bot.live.upkeep import Upkeep

IDLE_SLEEP = 1.0        # seconds: the wall-clock loop looks at the calendar at least this often


def earliest(*times: Optional[datetime]) -> Optional[datetime]:
    """The first of the times that are set, or None."""
    present = [t for t in times if t is not None]
    return min(present) if present else None


class Turn(NamedTuple):
    """What a step held back, and when the bot next has something to do."""

    calendar: Optional[datetime]      # a touchpoint, a wake-up, a case reminder, a fix notice
    send: Optional[datetime]          # the next send the outbox and the rate limits allow
    holds: tuple[Hold, ...] = ()      # due things the scheduler held back at this step, and why

    @property
    def at(self) -> Optional[datetime]:
        return earliest(self.calendar, self.send)


class MainLoop:
    """Drives one built Core. `upkeep=False` leaves out retention and the digest (a scripted
    `simulate` conversation plays only the conversation)."""

    def __init__(self, core: Core, *, upkeep: bool = True) -> None:
        self.core = core
        self.upkeep = Upkeep(core.store, core.settings) if upkeep else None

    async def due(self, now: datetime) -> tuple[Hold, ...]:
        """The calendar's work at `now` (nothing is sent here: messages land in the outbox).
        Returns what the scheduler held back."""
        await self.core.resolve_emails()
        await self.core.resolve_locales()
        if self.upkeep is not None:
            self.upkeep.tick(now)
        return self.core.scheduler.tick(now).holds

    async def step(self, now: datetime) -> Turn:
        """One turn for a driver that owns the clock: the calendar's work at `now`, then every
        send due now that the limits allow; what was held back, and when to come back."""
        holds = await self.due(now)
        send = await self.core.dispatcher.run_once()
        return Turn(self.core.scheduler.next_at(), send, holds)

    async def run(self, stop: asyncio.Event, idle_sleep: float = IDLE_SLEEP) -> None:
        """On the wall clock until `stop` is set: the dispatcher sends on its own task, woken by
        every outbox commit (a reply goes out as soon as it is committed); this loop does the
        calendar's work at least every `idle_sleep` seconds. On the way out in-flight sends
        finish and what is due is sent."""
        halt = asyncio.Event()
        sender = asyncio.create_task(self.core.dispatcher.run(halt))
        try:
            while not stop.is_set() and not sender.done():
                await self.due(self.core.clock.now())
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_sleep)
                except asyncio.TimeoutError:
                    pass
        finally:
            halt.set()
            await sender                          # in-flight sends finish (or its crash surfaces)
        await self.core.dispatcher.run_once()     # finish what is due before leaving


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT (Ctrl-C) set `stop`, so the loop finishes what is in flight and returns
    (the real bot and the sandbox alike); where the platform has no signal handlers, nothing."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
