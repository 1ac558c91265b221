"""What a running bot does on the calendar besides conversations: the daily free-text retention
and the weekly digest. Both loops call `tick` (`aftercare run` and the sandbox)."""
from __future__ import annotations

from datetime import datetime

from bot.config.settings import Settings
from bot.ops.digest import WeeklyDigest
from bot.ops.data_rights import Retention
from bot.store.store import Store


class Upkeep:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.retention = Retention(store, settings)
        self.digest = WeeklyDigest(store, settings)

    def tick(self, now: datetime) -> None:
        self.retention.tick(now)
        self.digest.tick(now)
