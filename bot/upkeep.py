"""What a running bot does on the calendar besides conversations: the daily free-text retention
and the weekly digest. Both loops call `tick` (`aftercare run` and the sandbox)."""
from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.digest import WeeklyDigest
from bot.privacy import Retention
from bot.store.store import Store


class Upkeep:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.retention = Retention(store, settings)
        self.digest = WeeklyDigest(store, settings)

    def tick(self, now: datetime) -> None:
        self.retention.tick(now)
        self.digest.tick(now)
