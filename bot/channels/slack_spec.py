"""Slack, declared: its config section, user-id addresses, limits (~1 message/s per
conversation), and that it carries the support desk, finds customers imported by email and
knows each user's language (their Slack locale)."""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from pydantic import Field, SecretStr

from bot.channels.base import StartError
from bot.channels.spec import Capability, ChannelSpec
from bot.config.model import ConfigModel

# Slack allows bursts over its ~1/s per conversation, but not for long: the whole workspace's
# DMs are held a little under Web API tier limits.
DM_PER_SECOND = 20.0
DM_BURST = 10           # DMs that may go back to back: slack for a loop that wakes a little late


class SlackSettings(ConfigModel):
    enabled: bool = True
    bot_token: Optional[SecretStr] = None
    signing_secret: Optional[SecretStr] = None
    app_token: Optional[SecretStr] = None
    port: int = 3000
    api_url: Optional[str] = None        # the Web API root (https://slack.com/api/); a loopback one in tests
    per_channel_per_second: float = 1.0
    reply_burst: int = Field(default=3, ge=1)


def _options(section: SlackSettings, settings: Any) -> Mapping[str, Any]:
    assert section.bot_token is not None
    if not section.signing_secret and not section.app_token:
        raise StartError("Slack has a bot token but no way to receive events",
                         "set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
    return dict(bot_token=section.bot_token.get_secret_value(), base_url=section.api_url or None,
                signing_secret=section.signing_secret.get_secret_value() if section.signing_secret else "",
                app_token=section.app_token.get_secret_value() if section.app_token else None, port=section.port,
                support_channels=[settings.escalation.support_channel])


SPEC = ChannelSpec(
    name="slack",
    title="Slack",
    settings=SlackSettings,
    limits=lambda s: dict(per_address=s.per_channel_per_second, per_channel=DM_PER_SECOND, burst=DM_BURST,
                          reply_burst=s.reply_burst),
    desk_limits=lambda s: dict(per_address=s.per_channel_per_second, per_channel=s.per_channel_per_second, burst=1),
    adapter="bot.channels.slack:SlackChannel",
    options=_options,
    live=lambda s: bool(s.enabled and s.bot_token),
    address=re.compile(r"[UW][A-Z0-9]{2,}"),
    address_hint="a Slack user id (U... or W...)",
    capabilities=frozenset({Capability.BUTTONS, Capability.THREADS, Capability.DESK, Capability.EMAIL_LOOKUP,
                            Capability.LOCALE_LOOKUP}),
    locale_lookups=20,          # a few per loop turn: users.info allows ~100 a minute
)
