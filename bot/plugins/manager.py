"""The plugin manager: the built-ins (default plugins), then every outside package under the
`aftercare` entry point group, then whatever a caller adds (a test's plugin). One is built where
the process starts (the CLI) and its products - the vocabulary, the effects, the channels, the
settings model - are handed down; there is no global one.

The default plugins are named, not imported here (as datasette does), so a default plugin may
live in a room above this one (the sandbox's platforms)."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Mapping, Optional

import pluggy

from bot.base.errors import AftercareError
from bot.channels.registry import ChannelRegistry
from bot.config.settings import Settings
from bot.config.loading import load_settings
from bot.conversation.effects import Effects
from bot.engine.flows import FlowSet
from bot.engine.vocabulary import Action, Vocabulary
from bot.plugins import hookspecs
from bot.plugins.shop_vocabulary import load_shop_flows

DEFAULT_PLUGINS = ("bot.plugins.builtin", "bot.channels.plugin", "bot.report.plugin", "bot.sandbox.platforms.plugin")


class PluginError(AftercareError, ValueError):
    """Plugins that contradict each other (two declare the same name)."""


class MissingApplierError(PluginError):
    """An action declares an effect (`Action.effects`) that no plugin applies: run, it would
    write nothing to the store. Said when the plugins load, by `aftercare flows check` and at
    start-up, never first met by a customer."""

    def __init__(self, source: str, action: str, effect: str) -> None:
        self.source, self.action, self.effect = source, action, effect
        super().__init__(f"{source}: action {action!r} emits effect {effect!r}, which no plugin applies "
                         "(add its applier to the plugin's aftercare_effects)")


class Plugins:
    """The loaded plugins and what they add up to."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager

    @classmethod
    def load(cls, *extra: object, entry_points: bool = True) -> "Plugins":
        """The default plugins, the installed packages' (`entry_points`), then `extra`."""
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        for name in DEFAULT_PLUGINS:
            manager.register(importlib.import_module(name), name)
        if entry_points:
            manager.load_setuptools_entrypoints(hookspecs.PROJECT)
        for plugin in extra:
            manager.register(plugin)
        return cls(manager)

    def _gathered(self, hook: str) -> list[Any]:
        """Every plugin's answer to `hook`, flattened, in registration order."""
        answers = getattr(self.manager.hook, hook)()
        return [item for answer in reversed(answers) for item in (answer or ())]

    def vocabulary(self) -> Vocabulary:
        return Vocabulary().register(*self._gathered("aftercare_vocabulary"))

    def effects(self) -> Effects:
        """Every plugin's effect appliers; MissingApplierError when an action's declared effect has none."""
        self.check_effects()
        return self._appliers()

    def _appliers(self) -> Effects:
        effects = Effects()
        for answer in reversed(self.manager.hook.aftercare_effects()):
            for name, apply in (answer or {}).items():
                effects.register(name, apply)
        return effects

    def check_effects(self, vocabulary: Optional[Vocabulary] = None, others: str = "a vocabulary module") -> None:
        """Every effect each action of `vocabulary` (default: the plugins') declares has an
        applier; else MissingApplierError naming the plugin (`others` for an action no plugin
        declares: a shop's vocabulary module), the action and the effect: the first one found."""
        appliers = self._appliers()
        owners = self._action_owners()
        for action in (vocabulary if vocabulary is not None else self.vocabulary()).actions.values():
            for effect in action.effects:
                if appliers.get(effect) is None:
                    source = owners.get(action.name, others)
                    raise MissingApplierError(source, action.name, effect)

    def _action_owners(self) -> dict[str, str]:
        """Action name -> 'plugin NAME' of the plugin that declares it."""
        owners: dict[str, str] = {}
        for impl in self.manager.hook.aftercare_vocabulary.get_hookimpls():
            entries: Any = impl.function()
            for entry in entries or ():
                if isinstance(entry, Action):
                    owners.setdefault(entry.name, f"plugin {self._name(impl.plugin)!r}")
        return owners

    def _name(self, plugin: object) -> str:
        """A plugin's name as a person knows it: its entry point or module, else its class."""
        name = self.manager.get_name(plugin)
        return name if name and not name.isdigit() else type(plugin).__qualname__

    def channels(self) -> ChannelRegistry:
        return ChannelRegistry(tuple(self._gathered("aftercare_channels")))

    def channel_models(self) -> Mapping[str, Any]:
        return {spec.name: spec.settings for spec in self.channels()}

    def platforms(self) -> list[Any]:
        return self._gathered("aftercare_sandbox_platforms")

    def anchors(self) -> dict[str, Any]:
        """Touchpoint anchors by name; a name declared twice is an error naming it."""
        found: dict[str, Any] = {}
        for anchor in self._gathered("aftercare_touchpoint_anchors"):
            if anchor.name in found and found[anchor.name] is not anchor:
                raise PluginError(f"two plugins declare the touchpoint anchor {anchor.name!r}")
            found[anchor.name] = anchor
        return found

    def figures(self) -> list[Any]:
        """Report figures, the built-ins first; a name declared twice is an error naming it."""
        figures = self._gathered("aftercare_report_figures")
        names = [figure.name for figure in figures]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise PluginError(f"two plugins declare the report figure {twice[0]!r}")
        return figures

    def commands(self) -> list[Any]:
        return self._gathered("aftercare_cli_commands")

    def load_settings(self, path: Path | str, environ: Optional[Mapping[str, str]] = None,
                      overrides: Optional[Mapping[str, Any]] = None) -> Settings:
        """config.yml validated with every plugin channel's section and touchpoint anchor."""
        return load_settings(path, environ, overrides, channels=self.channel_models(), anchors=self.anchors())

    def flows(self, settings: Settings, folder: Optional[Path | str] = None) -> FlowSet:
        """dialogs/ checked against the plugins' vocabulary and the shop's modules (`vocabulary:`),
        and every effect their actions declare against the plugins' appliers."""
        flow_set = load_shop_flows(settings, folder, base=self.vocabulary())
        modules = ", ".join(map(str, settings.vocabulary))
        self.check_effects(flow_set.vocabulary, f"{settings.config_path}: vocabulary module ({modules})")
        return flow_set
