"""The checks `aftercare run` (first problem: `StartError`, exit 1) and `aftercare doctor`
(every finding) share. None of them sends a message: a token is checked with getMe /
auth.test, the support channel with the desk's own lookup, a port by binding it for a moment."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from bot.channels import registry
from bot.channels.base import StartError
from bot.config.settings import Settings
from bot.store.files import SIDE_FILES, is_private


@dataclass(frozen=True)
class Finding:
    """One line of `aftercare doctor`: what was checked, and what to fix (None: fine)."""

    what: str
    fix: Optional[str] = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.fix is None


async def channel_findings(settings: Settings, channels: Optional[registry.ChannelRegistry] = None) -> list[Finding]:
    """Each live channel's credentials (and its support channel, for the one with the desk), checked against
    the configured API base. Adapters are built but never started: nothing is received or sent."""
    found: list[Finding] = []
    for spec, section in _live(settings, channels):
        try:
            detail = await _check(spec, section, settings)
            found.append(Finding(f"{spec.title}: credentials accepted", detail=detail))
        except StartError as exc:
            found.append(Finding(f"{spec.title}: {exc.cause}", exc.fix))
    return found


def _live(settings: Settings, channels: Optional[registry.ChannelRegistry]) -> list[tuple[Any, Any]]:
    """The channels (the plugins'; the built-ins when None) whose sections have credentials."""
    specs = channels if channels is not None else registry.ChannelRegistry()
    return [(spec, registry.section(settings, spec.name, specs)) for spec in specs
            if spec.adapter and spec.live(registry.section(settings, spec.name, specs))]


async def _check(spec: Any, section: Any, settings: Settings) -> str:
    """One channel's `preflight` (getMe, auth.test, ...): a description, or a `StartError`."""
    channel: Any = spec.build(section, settings)
    try:
        check = getattr(channel, "preflight", None)
        return await check() if check is not None else ""
    finally:
        closer = getattr(channel, "close_preflight", None)
        if closer is not None:
            await closer()


def port_finding(host: str, port: int) -> Finding:
    """Whether `aftercare run` can listen on host:port (/healthz and the webhooks)."""
    if port == 0:
        return Finding(f"server: {host}:0 (any free port)")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return Finding(f"server: cannot listen on {host}:{port} ({exc.strerror or exc})",
                           "stop what uses that port, or set server.port (AFTERCARE_HEALTH_PORT)")
    return Finding(f"server: {host}:{port} is free")


async def preflight(settings: Settings, channels: Optional[registry.ChannelRegistry] = None,
                    built: Optional[Mapping[str, Any]] = None) -> None:
    """The start-up checks of `aftercare run`, before the models load: the first problem is a
    `StartError` (one line: cause and fix). `built`: the adapters the run will start, checked and
    left open (see `close_preflights`) instead of new ones built and closed."""
    port = port_finding(settings.server.listen, settings.server.port)
    if not port.ok:
        raise StartError(port.what.removeprefix("server: "), port.fix or "")
    for spec, section in _live(settings, channels):
        channel = (built or {}).get(spec.name)
        if channel is None:
            await _check(spec, section, settings)
        elif getattr(channel, "preflight", None) is not None:
            await channel.preflight()


async def close_preflights(built: Mapping[str, Any]) -> None:
    """Close what `preflight(..., built=)` opened, for adapters that will not be started."""
    for channel in built.values():
        closer = getattr(channel, "close_preflight", None)
        if closer is not None:
            await closer()


def store_findings(settings: Settings) -> list[Finding]:
    """The store file and its -wal/-shm: present, owner-only; backups beside it owner-only."""
    path = Path(settings.resolve(settings.store.path))
    if not path.is_file():
        return [Finding(f"store: no file at {path} yet", detail="`aftercare run` or `orders import` makes it")]
    found = []
    for file in [path] + [path.with_name(path.name + s) for s in SIDE_FILES] + [path.with_name(path.name + ".secret")]:
        if file.exists() and not is_private(file):
            found.append(Finding(f"store: {file} is readable by others ({oct(file.stat().st_mode & 0o777)})",
                                 f"chmod 600 {file} (it holds customers' personal data)"))
    backups = sorted(p for p in path.parent.glob(f"{path.stem}*") if p.is_file() and _is_backup(p, path))
    for file in backups:
        if not is_private(file):
            found.append(Finding(f"backup: {file} is readable by others ({oct(file.stat().st_mode & 0o777)})",
                                 f"chmod 600 {file}"))
    if not found:
        found.append(Finding(f"store: {path} and its files are readable by their owner only",
                             detail=f"{len(backups)} backup(s) beside it" if backups else "no backups beside it"))
    return found


def _is_backup(candidate: Path, store: Path) -> bool:
    name = candidate.name
    return name != store.name and not any(name == store.name + s for s in (*SIDE_FILES, ".secret")) \
        and ("backup" in name or name.endswith((".bak", ".db.gz", ".sqlite")) or name.startswith(store.name + "."))


def webhook_findings(settings: Settings, channels: Optional[registry.ChannelRegistry] = None) -> list[Finding]:
    """Which order webhooks are on (a secret set), and each webhook-mode channel's URL and secret
    (`channels`: the plugins'; the built-ins when None)."""
    found = []
    hooks = settings.webhooks
    for name, secret, variable in (("POST /webhooks/shopify", hooks.shopify_secret, "SHOPIFY_WEBHOOK_SECRET"),
                                   ("POST /webhooks/orders", hooks.orders_secret, "AFTERCARE_WEBHOOK_SECRET")):
        found.append(Finding(f"{name}: on (secret set)") if secret else
                     Finding(f"{name}: off", detail=f"set {variable} to turn it on"))
    for spec, section in _live(settings, channels):          # a channel that receives by webhook: https, with a secret
        if getattr(section, "mode", None) != "webhook":
            continue
        url = getattr(section, "webhook_url", None) or ""
        if not url.startswith("https://"):
            found.append(Finding(f"{spec.title} webhook URL {url or '(none)'} is not https",
                                 f"set channels.{spec.name}.webhook_url to the public https:// address"))
        if not getattr(section, "webhook_secret", None):
            found.append(Finding(f"{spec.title} webhook has no secret",
                                 f"set channels.{spec.name}.webhook_secret (16+ random characters)"))
    return found


def model_findings(settings: Settings) -> list[Finding]:
    """The trained NLU models the config names are in the cache (never trains)."""
    from bot.nlu.languages import for_language
    from bot.nlu.rasa_nlu import load_nlu_settings, model_path

    setup = load_nlu_settings(settings.config_path)
    try:
        missing = [language for language in setup.languages if not model_path(for_language(setup, language)).exists()]
    except OSError as exc:          # the training data is read relative to the config's folder
        return [Finding(f"NLU: cannot read {exc.filename} ({exc.strerror})",
                        "keep config.yml in the install folder beside data/ (secrets come from the environment), "
                        "or give --no-models")]
    if missing:
        return [Finding(f"NLU: no trained model for {', '.join(missing)} (data or pipeline changed)",
                        "run `aftercare nlu train`")]
    return [Finding(f"NLU: a trained model for each of {', '.join(setup.languages)}")]
