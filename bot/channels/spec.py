"""What a channel declares about itself, in one place: its name, its section under `channels:`
in config.yml, what an address looks like, its sending limits, its STOP commands, what it can
show (buttons, threads, files), how a live adapter is built from its settings, and whether it
brings a support desk or a directory of emails. The core, config, orders, inbound and the app
read these declarations and never name a channel themselves (`registry.py` lists them)."""
from __future__ import annotations

import enum
import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Protocol, Union

from pydantic import BaseModel

from bot.channels.base import Channel, SupportDesk

CustomerRef = Union[int, str]
LimitsSpec = Mapping[str, Any]      # keyword arguments of `bot.live.outbox.Limits`


class Capability(str, enum.Enum):
    BUTTONS = "buttons"            # tappable choices under a message
    THREADS = "threads"            # replies grouped under a message (case threads)
    FILES = "files"                # photos and files from the customer
    DESK = "desk"                  # the adapter carries a support desk (`adapter.desk`)
    EMAIL_LOOKUP = "email_lookup"  # customers imported by email get an address (`adapter.lookup_user_by_email`)
    DEEP_LINKS = "deep_links"      # a signed start payload binds a chat to a customer (`links`)
    LOCALE_LOOKUP = "locale_lookup"  # the platform knows each user's language (`adapter.user_locale`)


class CarriesDesk(Protocol):
    """An adapter whose channel declares `Capability.DESK`."""

    @property
    def desk(self) -> SupportDesk: ...


class LooksUpEmail(Protocol):
    """An adapter whose channel declares `Capability.EMAIL_LOOKUP`."""

    async def lookup_user_by_email(self, email: str) -> Optional[str]: ...


class LooksUpLocale(Protocol):
    """An adapter whose channel declares `Capability.LOCALE_LOOKUP`."""

    async def user_locale(self, address: str) -> Optional[str]: ...


@dataclass(frozen=True)
class LinkScheme:
    """Signed opt-in tokens a channel carries in its start payload. `verify` returns the
    customer it names or raises a ValueError with a `reason`; `key` is what the store records
    so a token binds once."""

    verify: Callable[[str, bytes, float], CustomerRef]
    key: Callable[[str], str]
    source: str                    # the consent ledger's name for a bind by link


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    title: str                                         # for people: "Telegram"
    settings: type[BaseModel]                          # its section under `channels:` in config.yml
    limits: Optional[Callable[[Any], LimitsSpec]] = None   # from its settings section; None: unlimited
    adapter: str = ""                                  # "module:Class" of the live adapter
    options: Callable[[Any, Any], Mapping[str, Any]] = lambda section, settings: {}
    live: Callable[[Any], bool] = lambda section: False   # credentials present: run the real thing
    address: Optional[re.Pattern[str]] = None          # an address in an order file must match
    address_hint: str = ""                             # what it should look like, for errors
    importable: bool = True                            # may an order file name it?
    stop_commands: frozenset[str] = frozenset()        # texts that always mean STOP here
    capabilities: frozenset[Capability] = frozenset()
    desk_limits: Optional[Callable[[Any], LimitsSpec]] = None
    links: Optional[LinkScheme] = None
    link_secret: Callable[[Any], Optional[bytes]] = lambda section: None
    commands: str = ""                                 # "module:attr" of a click command it adds to `aftercare`
    locale_lookups: int = 20                           # LOCALE_LOOKUP: users asked per loop turn (its API's limit)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def check_address(self, value: str) -> Optional[str]:
        """None when `value` is a valid address here, else why not."""
        if self.address is not None and not self.address.fullmatch(value):
            return f'"{value}" is not {self.address_hint}'
        return None

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def command(self) -> Any:
        """The click command (or group) this channel adds to `aftercare`, or None."""
        if not self.commands:
            return None
        module, _, attr = self.commands.partition(":")
        return getattr(importlib.import_module(module), attr)

    def build(self, section: Any, settings: Any) -> Channel:
        """The live adapter for this section (its SDK is imported only now)."""
        if not self.adapter:
            raise ValueError(f"channel {self.name!r} has no live adapter")
        module, _, attr = self.adapter.partition(":")
        factory = getattr(importlib.import_module(module), attr)
        return factory(**self.options(section, settings))
