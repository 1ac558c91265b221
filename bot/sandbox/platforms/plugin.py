"""The sandbox's built-in platforms (loopback Telegram and Slack), registered as a default
plugin the way an outside channel's package registers its own."""
from __future__ import annotations

from typing import Any, Iterable

from bot.plugins.hookspecs import hookimpl
from bot.sandbox.platforms import slack_driver, telegram_driver


@hookimpl
def aftercare_sandbox_platforms() -> Iterable[Any]:
    return (telegram_driver.PLATFORM, slack_driver.PLATFORM)
