"""The channels this process knows: the built-in declarations plus any a shop (or a test)
registers. Everything outside bot/channels/ asks here instead of naming a channel."""
from __future__ import annotations

from typing import Any, Generic, Iterable, Iterator, Mapping, Optional, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from bot.base.errors import AftercareError
from bot.channels import console_spec, slack_spec, telegram_spec
from bot.channels.spec import Capability, ChannelSpec, LimitsSpec
from bot.config.settings import ConfigError, UnvalidatedSection, weak_secret

_BUILTIN = (telegram_spec.SPEC, slack_spec.SPEC, console_spec.SPEC)


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


class RegistryError(AftercareError, ValueError):
    """A name declared twice (two plugins' channels or platforms), or one that is not declared."""


class NamedRegistry(Generic[N]):
    """Declarations by name, each registered once; `what` names them in errors."""

    what = "declaration"

    def __init__(self, items: Iterable[N] = ()) -> None:
        self._items: dict[str, N] = {}
        for item in items:
            self.register(item)

    def register(self, item: N) -> N:
        if item.name in self._items and self._items[item.name] is not item:
            raise RegistryError(f"a {self.what} named {item.name!r} is already registered: two plugins "
                                f"(or one, twice) declare it, and each name may be declared once")
        self._items[item.name] = item
        return item

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> Optional[N]:
        return self._items.get(name)

    def __iter__(self) -> Iterator[N]:
        return iter(list(self._items.values()))


class ChannelRegistry(NamedRegistry[ChannelSpec]):
    """Name -> `ChannelSpec`: the plugins' channels (`Plugins.channels()`), handed down from where
    the process starts; `ChannelRegistry()` alone holds the built-in declarations."""

    what = "channel"

    def __init__(self, specs: tuple[ChannelSpec, ...] = _BUILTIN) -> None:
        super().__init__(specs)

    def names(self, *, importable: bool = False) -> tuple[str, ...]:
        return tuple(s.name for s in self if s.importable or not importable)

    def with_capability(self, capability: Capability) -> tuple[ChannelSpec, ...]:
        return tuple(s for s in self if s.can(capability))


def _or_builtin(registry: Optional[ChannelRegistry]) -> ChannelRegistry:
    """The caller's channels (the plugins'), else the built-in declarations: a new registry each
    time, never one shared by the process."""
    return registry if registry is not None else ChannelRegistry()


def section(settings: Any, name: str, registry: Optional[ChannelRegistry] = None) -> Any:
    """A channel's config section (its defaults when config.yml has none). Settings loaded
    without the channels' models hold the section unchecked: it is validated here, and a bad
    one is a ConfigError naming the key."""
    found = getattr(settings.channels, name, None)
    if found is not None and not isinstance(found, UnvalidatedSection):
        return found
    spec = _or_builtin(registry).get(name)
    if spec is None:
        return None
    weak = weak_secret(spec.settings, dict(found or {}), ["channels", name])
    if weak:                                   # set but empty, or a signing key too short
        raise ConfigError(settings.config_path, None, f"{'.'.join(map(str, weak[0]))}: {weak[1]}")
    try:
        return spec.settings(**(found or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("channels", name, *first["loc"]) if part != "__root__")
        raise ConfigError(settings.config_path, None, f"{where}: {first['msg']}") from None


def section_models(registry: Optional[ChannelRegistry] = None) -> dict[str, type[BaseModel]]:
    """Each channel's section model, for `load_settings(channels=...)`."""
    return {spec.name: spec.settings for spec in _or_builtin(registry)}


def sending_limits(settings: Any, registry: Optional[ChannelRegistry] = None) -> dict[str, LimitsSpec]:
    """Per-channel limits from each channel's declaration and config section, plus the
    support desk's (keyed `desk_key`) from the channel that carries it."""
    limits: dict[str, LimitsSpec] = {}
    for spec in _or_builtin(registry):
        conf = section(settings, spec.name, registry)
        if spec.limits is not None:
            limits[spec.name] = spec.limits(conf)
    return limits


def desk_limits(settings: Any, registry: Optional[ChannelRegistry] = None) -> Optional[LimitsSpec]:
    for spec in _or_builtin(registry).with_capability(Capability.DESK):
        if spec.desk_limits is not None:
            return spec.desk_limits(section(settings, spec.name, registry))
    return None


def desk_channel(registry: Optional[ChannelRegistry] = None) -> str:
    """The name of the channel that carries the support desk ("desk" when none does): what the
    erasure log's counts of the desk's deletions are keyed by (`<name>_posts_deleted`)."""
    carriers = _or_builtin(registry).with_capability(Capability.DESK)
    return carriers[0].name if carriers else "desk"


def live_channels(settings: Any, registry: Optional[ChannelRegistry] = None) -> Mapping[str, Any]:
    """Adapters for every channel whose section has credentials (nothing else is started)."""
    return {spec.name: spec.build(section(settings, spec.name, registry), settings)
            for spec in _or_builtin(registry) if spec.adapter and spec.live(section(settings, spec.name, registry))}


def has_credentials(settings: Any, registry: Optional[ChannelRegistry] = None) -> bool:
    return any(spec.live(section(settings, spec.name, registry)) for spec in _or_builtin(registry))


def link_secret(settings: Any, registry: Optional[ChannelRegistry] = None) -> Optional[bytes]:
    """The secret that signs opt-in links, from the channel that has them (None: not set)."""
    for spec in _or_builtin(registry).with_capability(Capability.DEEP_LINKS):
        secret = spec.link_secret(section(settings, spec.name, registry))
        if secret:
            return secret
    return None
