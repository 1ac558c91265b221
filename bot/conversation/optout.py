"""The one STOP detector. Every channel's STOP commands (declared with the channel), a few
exact words that always mean STOP whatever the model says, and the NLU's `opt_out`: a
customer who says stop in any of these ways is opted out, in a case thread or not."""
from __future__ import annotations

import re
from typing import Optional

from bot.channels.registry import ChannelRegistry
from bot.base.events import InboundEvent, InboundKind
from bot.i18n.catalogs import Catalogs
from bot.nlu.base import Parse

# A safety net under the NLU: these exact words always mean STOP, whatever the model says.
STOP_WORDS = re.compile(r"^\s*(stop|stop all|unsubscribe|cancel|end|quit|opt[ -]?out|stopp?)\s*[.!]*\s*$", re.I)
OPT_OUT_INTENT = "opt_out"


class StopDetector:
    def __init__(self, registry: Optional[ChannelRegistry] = None, catalogs: Optional[Catalogs] = None) -> None:
        self.registry = registry if registry is not None else ChannelRegistry()
        self.catalogs = catalogs if catalogs is not None else Catalogs()

    def says_stop(self, channel: str, text: str) -> bool:
        """Is `text` a STOP without asking the NLU (a STOP word in any shipped language's words,
        dialogs/i18n/*.yml, or the channel's STOP command)?"""
        if STOP_WORDS.match(text) or self.catalogs.says(text, "stop"):
            return True
        spec = self.registry.get(channel)
        return spec is not None and text.strip().lower() in spec.stop_commands

    def __call__(self, event: InboundEvent, text: str, parse: Optional[Parse] = None) -> bool:
        """Does this event ask to stop all messages?"""
        return event.kind is InboundKind.STOP or self.says_stop(event.channel, text) or means_stop(parse)


def means_stop(parse: Optional[Parse]) -> bool:
    """Did the NLU understand typed text as a request to stop all messages?"""
    return parse is not None and parse.intent == OPT_OUT_INTENT
