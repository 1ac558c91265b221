"""Telegram, declared: its config section, chat-id addresses, limits (~30 messages/s per bot,
1/s per chat on average with short bursts for replies), `/stop`, deep-link opt-in, and how `TelegramChannel` is built from settings."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit
from typing import Any, Mapping, Optional

from pydantic import Field, SecretStr, validator

from bot.channels.spec import Capability, ChannelSpec, LinkScheme
from bot.channels.telegram_links import link_token_id, verify_link_token
from bot.config.model import ConfigModel, duration

# Sends per bot that may go back to back: the slack a loop that wakes a little late (a busy
# machine) needs to keep the average at the limit. python-telegram-bot's own AIORateLimiter
# allows 30 at once; the loopback server, like Telegram, tolerates that.
CHANNEL_BURST = 10
# Sends per bot beyond that burst kept for answers: when more customers write in one second
# than the burst (20 msg/s on average is 30+ in some second), their answers still go at once
# (25 in all; 5 of the 30 left for network jitter), while proactive sends keep to the burst.
REPLY_HEADROOM = 15


TELEGRAM_API = "https://api.telegram.org"


def bot_api_url(value: Any) -> str:
    """The Bot API server's root URL (Telegram's own, or a self-hosted `telegram-bot-api`):
    http(s), a host, no query, no `/bot<token>` part; unset means Telegram's own."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return TELEGRAM_API
    if not isinstance(value, str):
        raise ValueError(f'"{value}" is not a URL (e.g. {TELEGRAM_API})')
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'"{url}" is not an http(s) URL with a host (e.g. {TELEGRAM_API})')
    if parts.query or parts.fragment:
        raise ValueError(f'"{url}": the Bot API root URL takes no query or fragment')
    if re.search(r"/bot[^/]*$", parts.path):
        raise ValueError(f'"{url}": give the server\'s root URL only; the token and /bot are added by the bot')
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f'"{url}" has an invalid port') from None
    return url


class TelegramSettings(ConfigModel):
    enabled: bool = True
    token: Optional[SecretStr] = None
    bot_username: str = "AftercareDemoBot"
    mode: str = "polling"
    webhook_url: Optional[str] = None
    webhook_secret: Optional[SecretStr] = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    link_secret: Optional[SecretStr] = None
    link_ttl: timedelta = timedelta(days=14)
    per_chat_per_second: float = 1.0
    per_bot_per_second: float = 30.0
    reply_burst: int = Field(default=3, ge=1)
    api_url: str = TELEGRAM_API

    @validator("api_url", pre=True)
    def _api_url(cls, value: Any) -> str:
        return bot_api_url(value)

    _link_ttl = validator("link_ttl", pre=True, allow_reuse=True)(duration)

    @validator("mode")
    def _mode(cls, value: str) -> str:
        if value not in ("polling", "webhook"):
            raise ValueError(f'"{value}" is not a mode (polling or webhook)')
        return value


def _options(section: TelegramSettings, settings: Any) -> Mapping[str, Any]:
    assert section.token is not None
    return dict(token=section.token.get_secret_value(), base_url=section.api_url, mode=section.mode, bot_username=section.bot_username,
                webhook_listen=section.webhook_listen, webhook_port=section.webhook_port,
                webhook_url=section.webhook_url,
                webhook_secret=section.webhook_secret.get_secret_value() if section.webhook_secret else None)


def _link_secret(section: TelegramSettings) -> Optional[bytes]:
    return section.link_secret.get_secret_value().encode() if section.link_secret else None


SPEC = ChannelSpec(
    name="telegram",
    title="Telegram",
    settings=TelegramSettings,
    limits=lambda s: dict(per_address=s.per_chat_per_second, per_channel=s.per_bot_per_second,
                          burst=CHANNEL_BURST, reply_burst=s.reply_burst, reply_headroom=REPLY_HEADROOM),
    adapter="bot.channels.telegram:TelegramChannel",
    options=_options,
    live=lambda s: bool(s.enabled and s.token),
    address=re.compile(r"-?\d{1,20}"),
    address_hint="a Telegram chat id (a number)",
    stop_commands=frozenset({"/stop"}),
    capabilities=frozenset({Capability.BUTTONS, Capability.FILES, Capability.DEEP_LINKS}),
    links=LinkScheme(verify=verify_link_token, key=link_token_id, source="telegram-link"),
    link_secret=_link_secret,
    commands="bot.channels.telegram_cli:telegram",
)
