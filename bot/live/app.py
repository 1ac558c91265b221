"""`aftercare run`: the one place that knows every room. Channels, scheduler and dispatcher in
one asyncio process; SIGTERM finishes in-flight sends, persists, and exits cleanly.

With a channel's credentials in the environment (config.yml's `channels:` sections name the
variables) it runs the real bot; without any it runs the `sandbox` it is given (`aftercare run`
gives the local one: loopback platform servers, simulated customers; the sandbox sits above
this module and is never imported by it). Which channels exist, and how each is built, is declared in
bot/channels/ (`registry.py`); this module names none of them.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Awaitable, Callable, Mapping, Optional, cast

from bot.channels import registry
from bot.channels.base import Channel, SupportDesk
from bot.channels.spec import Capability, CarriesDesk
from bot.base.clock import Clock, SystemClock
from bot.config.settings import Settings
from bot.doctor.checks import close_preflights, preflight
from bot.live.core import Core, build_core
from bot.nlu.base import Parser
from bot.plugins.manager import Plugins
from bot.store.store import Store
from bot.live.health import start_health
from bot.live.mainloop import IDLE_SLEEP, MainLoop, stop_on_signals
from bot.webhooks.http import OrderWebhooks

log = logging.getLogger("aftercare")


def has_credentials(settings: Settings, channels: Optional[registry.ChannelRegistry] = None) -> bool:
    return registry.has_credentials(settings, channels)


async def run_app(settings: Settings, open_store: Callable[[Settings], Store], load_nlu: Callable[[Settings], Parser],
                  *, sandbox: Callable[[], Awaitable[int]], plugins: Plugins,
                  stop: Optional[asyncio.Event] = None) -> int:
    """Run until SIGTERM/SIGINT (real bot; or `stop`, for a caller in-process) or until the sandbox
    demo ends. Returns the exit code.
    `plugins`: the loaded plugins (the CLI's), whose channels, vocabulary and effects run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and a Bot API URL contains the token: never log secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    specs = plugins.channels()
    if not has_credentials(settings, specs):
        return await sandbox()
    # Each adapter is built once: the one preflight checks (its client connected) is the one that runs.
    channels = dict(registry.live_channels(settings, specs))
    try:
        # A refused token, an API out of reach, no support channel, a port taken: one line
        # (StartError, cause and fix) before the models take their time to load.
        await preflight(settings, specs, built=channels)
        # Rasa's parser drives a private event loop: load it (and its warm-up) off this one.
        parser = await asyncio.to_thread(load_nlu, settings)
        store = open_store(settings)
    except BaseException:
        await close_preflights(channels)
        raise
    # Rasa, TensorFlow and the models are ~650,000 objects that live as long as the process:
    # out of the garbage collector's sight, a full collection no longer stalls a reply by
    # walking them all.
    gc.collect()
    gc.freeze()
    # The NLU parses in a worker thread, CPU-bound in Python; by default the event loop then
    # waits up to 5 ms for the GIL at every step of a reply (a send, a commit). 1 ms keeps the
    # loop's short steps from queueing behind a parse (back-to-back load: ~30 -> 40-50 msg/s).
    sys.setswitchinterval(0.001)
    return await run_live(settings, store, parser, SystemClock(), plugins=plugins,
                          channels=channels, stop=stop)


async def run_live(settings: Settings, store: Store, parser: Parser, clock: Clock, *,
                   stop: Optional[asyncio.Event] = None, health_port: Optional[int] = None,
                   plugins: Optional[Plugins] = None, channels: Optional[Mapping[str, Channel]] = None) -> int:
    """The real bot until SIGTERM/SIGINT (or `stop`, for a caller that runs it in-process).
    `health_port` overrides `server.port` (0: any free port, for tests). `plugins`: whose channels,
    vocabulary and effects run (the default and installed plugins when None). `channels`: the
    adapters, already built (and checked) by the caller; built here when None."""
    plugins = plugins if plugins is not None else Plugins.load()
    specs = plugins.channels()
    channels = dict(channels) if channels is not None else dict(registry.live_channels(settings, specs))
    core = build_core(settings, store, parser, clock, channels, desk=_desk(channels, specs),
                      link_secret=registry.link_secret(settings, specs), plugins=plugins)
    core.dispatcher.reconcile()
    if stop is None:
        stop = asyncio.Event()
        stop_on_signals(stop)
    started: list[Channel] = []
    try:
        for channel in channels.values():
            await channel.start(core.on_event, core.on_agent_action)
            started.append(channel)
        health = await start_health(core, port=settings.server.port if health_port is None else health_port,
                                    host=settings.server.listen, webhooks=OrderWebhooks(store, settings, clock, specs))
    except BaseException:           # a StartError (one line, said by `aftercare run`): undo what started
        for channel in started:
            await channel.stop()
        await close_preflights(channels)
        store.close()
        raise
    log.info("ready: channels %s, store %s, /healthz and webhooks on %s:%s", ", ".join(channels),
             settings.store.path, settings.server.listen, health.addresses[0][1])
    try:
        await serve(core, stop)
    finally:
        for channel in channels.values():
            await channel.stop()
        await health.cleanup()
        store.close()
        closing = getattr(parser, "aclose", None)     # the NLU service's client: its connections
        if closing is not None:
            await closing()
    log.info("stopped cleanly")
    return 0


async def serve(core: Core, stop: asyncio.Event, idle_sleep: float = IDLE_SLEEP) -> None:
    """The main loop on the wall clock until `stop` is set (bot/live/mainloop.py)."""
    await MainLoop(core).run(stop, idle_sleep)


def _desk(channels: Mapping[str, Channel], specs: registry.ChannelRegistry) -> Optional[SupportDesk]:
    """The support desk of the channel that carries one (its declaration says so)."""
    for name, channel in channels.items():
        spec = specs.get(name)
        if spec is not None and spec.can(Capability.DESK):
            return cast(CarriesDesk, channel).desk
    return None
