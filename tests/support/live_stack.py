"""The live wiring of `aftercare run` against the loopback platforms (real adapters, real core,
stand-in NLU), plus a second Telegram bot that receives by webhook: for tests that drive the
product from the platforms' side."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.channels.telegram import TelegramChannel
from bot.base.clock import SystemClock
from bot.live.core import build_core
from bot.live.mainloop import MainLoop
from bot.orders.importing import import_rows
from bot.orders.files import OrderRow
from bot.sandbox.platforms.telegram_api import TelegramSandbox
from bot.sandbox.world import SandboxWorld
from bot.store.store import Store
from tests.support.harness import make_settings, shipped_flows
from tests.support.table_parser import TableParser

CHATS = list(range(5001, 5013))
SECRET = "fuzz-secret"


class Stack:
    """The live wiring of `aftercare run` against the loopback platforms, plus a webhook bot."""

    async def start(self) -> "Stack":
        settings = make_settings(schedule={"weekly_cap": 50})
        self.world = await SandboxWorld(settings, seconds=time.monotonic).start()
        self.settings = self.world.settings_for_sandbox()
        self.store = Store.memory()      # durability is the crash test's subject, not this one's
        self.hook_api = TelegramSandbox(token="987654321:AAfuzz-webhook-bot-token-0000000000")
        await self.hook_api.start()
        self.hook = TelegramChannel(self.hook_api.token, base_url=self.hook_api.url, mode="webhook",
                                    webhook_port=0, webhook_secret=SECRET)
        self.core = build_core(self.settings, self.store, TableParser(), SystemClock(),
                               {"telegram": self.world.adapter("telegram"), "slack": self.world.adapter("slack")},
                               desk=self.world.desk, flows=shipped_flows())
        await self.world.connect(self.core.on_event, self.core.on_agent_action)
        await self.hook.start(self.core.on_event)
        self.slack_users = [self.world.server("slack").add_user(f"customer{n}", f"c{n}@example.com") for n in range(6)]
        self.world.server("slack").join(self.world.support_channel_id, self.world.agent_id)
        self._import_customers()
        self._stop = asyncio.Event()
        self._loop = asyncio.create_task(self._serve())
        return self

    def _import_customers(self) -> None:
        now = self.core.clock.now()
        rows = []
        for n, chat in enumerate(CHATS):
            rows.append(self._row(n, "telegram", str(chat), now))
        for n, user in enumerate(self.slack_users):
            rows.append(self._row(100 + n, "slack", user, now))
        import_rows(self.store, self.settings, rows, now)
        for chat in CHATS:
            self.world.server("telegram").world.add_user(chat, "Fuzz", "en")

    @staticmethod
    def _row(n: int, channel: str, address: str, now) -> OrderRow:
        return OrderRow(line=n + 1, order_id=f"F-{n}", customer_ref=f"FC-{n}", channel=channel,
                        product="Trail Runner 2 shoes", sku="TR2-44", category="footwear",
                        purchased_at=now - timedelta(days=9), customer_name=f"Fuzz {n}", address=address,
                        shipped_at=now - timedelta(days=8), delivered_at=now - timedelta(days=4),
                        status="delivered", email=f"fc{n}@example.com")

    async def _serve(self) -> None:
        """The main loop's turn, briskly: due touchpoints, then sends."""
        main = MainLoop(self.core, upkeep=False)
        while not self._stop.is_set():
            await main.step(self.core.clock.now())
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stop.set()
        await self._loop
        await self.hook.stop()
        await self.hook_api.stop()
        await self.world.stop()
