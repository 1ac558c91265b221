"""The sandbox's platforms by channel name: the built-ins plus any a test registers, the same
way `bot.channels.registry` holds the channels. The generic drivers look a platform up by the
channel name their data gives (an order row, a scenario, a worker's argument)."""
from __future__ import annotations

from typing import Any

from bot.channels.registry import NamedRegistry, RegistryError
from bot.sandbox.platforms import slack_driver, telegram_driver
from bot.sandbox.platforms.base import Platform

_BUILTIN = (telegram_driver.PLATFORM, slack_driver.PLATFORM)


class PlatformRegistry(NamedRegistry[Platform]):
    """Channel name -> `Platform`: the plugins' (`Plugins.platforms()`), handed down from where the
    process starts; `PlatformRegistry()` alone holds the built-ins."""

    what = "sandbox platform"

    def __init__(self, platforms: tuple[Platform, ...] = _BUILTIN) -> None:
        super().__init__(platforms)

    def require(self, name: str) -> Platform:
        """The platform of channel `name`; a RegistryError (a ValueError) names the known ones when there is none."""
        found = self.get(name)
        if found is None:
            raise RegistryError(f"the sandbox has no loopback server for channel {name!r} "
                             f"(it has: {', '.join(self.names()) or 'none'})")
        return found

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self)

    @classmethod
    def of(cls, plugins: Any) -> "PlatformRegistry":
        """The loaded plugins' platforms (`Plugins.platforms()`: the built-ins are a default plugin)."""
        return cls(tuple(plugins.platforms()))
