"""Every sandbox platform's loopback server with the real adapter pointed at it: what
`simulate`, the zero-credential `make run`, tests and benchmarks use instead of the internet."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from bot.base.agent_events import AgentActionHandler
from bot.channels.base import Channel, EventHandler, SupportDesk
from bot.channels.registry import ChannelRegistry
from bot.config.settings import Settings
from bot.plugins.manager import Plugins
from bot.sandbox.platforms.base import DeskClient, Running, Seconds, wait_processed
from bot.sandbox.platforms.registry import PlatformRegistry

__all__ = ["SandboxWorld", "wait_processed"]


@dataclass
class SandboxWorld:
    """All platforms on 127.0.0.1. `seconds` drives their rate limits (a simulated clock's).
    `platforms` and `channels`: the plugins' (the built-ins when not given)."""

    settings: Settings
    seconds: Seconds
    platforms: PlatformRegistry = field(default_factory=PlatformRegistry)
    specs: ChannelRegistry = field(default_factory=ChannelRegistry)
    running: dict[str, Running] = field(init=False, default_factory=dict)

    @classmethod
    def of(cls, plugins: Plugins, settings: Settings, seconds: Seconds) -> "SandboxWorld":
        """The world of the loaded plugins' platforms and channels."""
        return cls(settings, seconds, PlatformRegistry.of(plugins), plugins.channels())

    async def start(self) -> "SandboxWorld":
        for platform in self.platforms:
            self.running[platform.name] = await platform.start(self.settings, self.seconds)
        return self

    def server(self, channel: str) -> Any:
        """The loopback server of `channel` (tests and drills act on it directly)."""
        return self.running[channel].server

    def adapter(self, channel: str) -> Channel:
        return self.running[channel].adapter

    @property
    def channels(self) -> dict[str, Channel]:
        """The customer channels by name, as the core takes them."""
        return {name: running.adapter for name, running in self.running.items()}

    @property
    def desk_client(self) -> Optional[DeskClient]:
        """The agent's view of the support channel, on the platform that carries the desk."""
        return next((r.desk_client for r in self.running.values() if r.desk_client is not None), None)

    def _desk_client(self) -> DeskClient:
        found = self.desk_client
        if found is None:
            raise LookupError("no sandbox platform carries a support desk")
        return found

    @property
    def desk(self) -> SupportDesk:
        """Where agents see cases (the support channel)."""
        return self._desk_client().desk

    @property
    def support_channel_id(self) -> str:
        return self._desk_client().channel_id

    @property
    def agent_id(self) -> str:
        return self._desk_client().agent_id

    def settings_for_sandbox(self) -> Settings:
        """The settings with the support channel pointed at the sandbox's channel id."""
        escalation = self.settings.escalation.copy(update={"support_channel": self.support_channel_id})
        return self.settings.copy(update={"escalation": escalation})

    async def connect(self, on_event: EventHandler, on_agent_action: AgentActionHandler) -> None:
        for running in self.running.values():
            await running.connect(on_event, on_agent_action)

    async def stop(self) -> None:
        stops = [r.adapter.stop for r in self.running.values()] + [r.server.stop for r in self.running.values()]
        for stop in stops:
            try:
                await stop()
            except Exception:  # noqa: BLE001 - shutting down: keep going
                pass

    def support_posts(self) -> list[dict]:
        """Every post in the support channel and its threads, as posted."""
        return self._desk_client().posts()

    def describe(self) -> str:
        """Where each loopback server listens, for the log: "<channel's title> http://127.0.0.1:… and …"."""
        shown = [f"{spec.title if (spec := self.specs.get(name)) else name} {running.url}"
                 for name, running in self.running.items()]
        return " and ".join(shown)
