"""The bot's one main loop. At each instant it does the calendar's work (customers imported by
email get an address, those whose language nothing tells get their platform's, the daily
retention and weekly digest, due touchpoints, wake-ups and case reminders), and the dispatcher
sends what is due.

Every loop of the product is one of its drivers: `aftercare run` on the wall clock (`run`: the
dispatcher sends on its own task, woken by every outbox commit), the sandbox demo and `simulate`
on a simulated clock they move themselves (`step`: everything due at one instant, then when to
come back), `aftercare chat` (the sends only: the calendar belongs to the one process that runs
the bot, `aftercare run`; two schedulers on one store would start a touchpoint twice) and
`aftercare orders watch` (no bot at all: only its job, a folder's scan, at every turn).
"""
from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from typing import Awaitable, Callable, NamedTuple, Optional, Sequence

from bot.base.clock import Clock
from bot.live.core import Core
from bot.schedule.scheduler import Hold
from bot.live.upkeep import Upkeep

IDLE_SLEEP = 1.0        # seconds: the wall-clock loop looks at the calendar at least this often
SEND_POLL = 60.0        # seconds: the sender's longest sleep with nothing scheduled (rows another process writes)

Job = Callable[[datetime], Awaitable[object]]   # more work at each turn (an order folder's scan)


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
    `simulate` conversation plays only the conversation); `calendar=False` leaves out the
    calendar's work altogether (`chat`: only the sends). `jobs` run at every turn after it.
    `send_poll`: how soon the sender sees rows another process wrote. With no core (`orders
    watch`) there is no bot: only the jobs, on `clock`."""

    def __init__(self, core: Optional[Core], *, upkeep: bool = True, calendar: bool = True,
                 jobs: Sequence[Job] = (), send_poll: float = SEND_POLL, clock: Optional[Clock] = None) -> None:
        if clock is None:
            if core is None:
                raise ValueError("a loop with no core needs a clock")
            clock = core.clock
        self.core = core
        self.clock = clock
        self.calendar = calendar and core is not None
        self.upkeep = Upkeep(core.store, core.settings) if core is not None and calendar and upkeep else None
        self.jobs = tuple(jobs)
        self.send_poll = send_poll

    async def due(self, now: datetime) -> tuple[Hold, ...]:
        """The calendar's work at `now` (nothing is sent here: messages land in the outbox), then
        the jobs. Returns what the scheduler held back."""
        holds: tuple[Hold, ...] = ()
        if self.calendar and self.core is not None:
            await self.core.resolve_emails()
            await self.core.resolve_locales()
            if self.upkeep is not None:
                self.upkeep.tick(now)
            holds = self.core.scheduler.tick(now).holds
        for job in self.jobs:
            await job(now)
        return holds

    async def step(self, now: datetime) -> Turn:
        """One turn for a driver that owns the clock: the calendar's work at `now`, then every
        send due now that the limits allow; what was held back, and when to come back."""
        holds = await self.due(now)
        if self.core is None:
            return Turn(None, None, holds)
        send = await self.core.dispatcher.run_once()
        return Turn(self.core.scheduler.next_at() if self.calendar else None, send, holds)

    async def settle(self) -> None:
        """Every send due now has been made (a terminal shows the bot's answer before the next
        prompt); the sender task of `run` goes on as before."""
        if self.core is not None:
            await self.core.dispatcher.run_once()

    async def run(self, stop: asyncio.Event, idle_sleep: float = IDLE_SLEEP) -> None:
        """On the wall clock until `stop` is set: the dispatcher sends on its own task, woken by
        every outbox commit (a reply goes out as soon as it is committed); this loop does the
        calendar's work and the jobs at least every `idle_sleep` seconds. On the way out
        in-flight sends finish and what is due is sent."""
        halt = asyncio.Event()
        sender = (asyncio.create_task(self.core.dispatcher.run(halt, idle=self.send_poll))
                  if self.core is not None else None)
        try:
            while not stop.is_set() and not (sender is not None and sender.done()):
                await self.due(self.clock.now())
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_sleep)
                except asyncio.TimeoutError:
                    pass
        finally:
            halt.set()
            if sender is not None:
                await sender                      # in-flight sends finish (or its crash surfaces)
        await self.settle()                       # finish what is due before leaving


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT (Ctrl-C) set `stop`, so the loop finishes what is in flight and returns
    (the real bot and the sandbox alike); where the platform has no signal handlers, nothing."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
