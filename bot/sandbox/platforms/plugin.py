"""The sandbox's built-in platforms (loopback Telegram and Slack), registered as a default
plugin the way an outside channel's package registers its own. Every process loads the default
plugins (the real bot too): the loopback servers are imported only when the sandbox asks for
them, so the live bot never loads their code."""
from __future__ import annotations

from typing import Any, Iterable

from bot.plugins.hookspecs import hookimpl


@hookimpl
def aftercare_sandbox_platforms() -> Iterable[Any]:
    from bot.sandbox.platforms import slack_driver, telegram_driver

    return (telegram_driver.PLATFORM, slack_driver.PLATFORM)
