"""Forget a customer while the bot runs against the loopback Telegram and Slack: their words
leave the Slack case thread (chat.delete through the outbox), the card is redrawn without them
(chat.update), and nothing they do afterwards brings them back or gets them contacted."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from bot.channels.telegram_links import make_link_token
from bot.base.clock import SimClock
from bot.live.core import build_core
from bot.orders.importing import import_rows
from bot.orders.files import OrderRow
from bot.ops.data_rights import find_customer, forget_customer
from bot.sandbox.on_platform import DeskAgent
from bot.sandbox.platforms.telegram_driver import TELEGRAM_CHAT, TelegramCustomer
from bot.sandbox.scenario import load_scenario
from bot.sandbox.simulate import SIM_CUSTOMER_REF, Simulation
from bot.sandbox.world import SandboxWorld, wait_processed
from bot.store.privacy import ERASED
from bot.store.store import Store
from tests.privacy.conftest import held_text
from tests.support.harness import ROOT, T0, make_settings
from tests.support.table_parser import TableParser

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
SCENARIO = (ROOT / "tests" / "scenarios" / "low_score_escalation.yml").read_text(encoding="utf-8")
SECRET = b"test-link-secret"


async def test_forget_while_running_on_telegram_and_slack(tmp_path: Path):
    path = tmp_path / "telegram_escalation.yml"
    path.write_text(SCENARIO.replace("channel: console", "channel: telegram"), encoding="utf-8")
    scenario = load_scenario(path)
    clock = SimClock(T0)
    store = Store.open(tmp_path / "aftercare.db")
    world = await SandboxWorld(make_settings(), seconds=lambda: clock.now().timestamp()).start()
    try:
        settings = world.settings_for_sandbox()
        core = build_core(settings, store, TableParser(), clock, {"telegram": world.adapter("telegram"), "slack": world.adapter("slack")},
                          desk=world.desk, link_secret=SECRET)
        await world.connect(core.on_event, core.on_agent_action)
        customer = TelegramCustomer(world.server("telegram"), store, "Ana Silva", "en")
        await customer.setup()
        simulation = Simulation(scenario, core, clock, customer, DeskAgent(world))
        simulation.import_order(settings)
        await simulation.run()

        slack, channel = world.server("slack"), world.support_channel_id
        card = slack.top_level(channel)[0]
        quoted = [m for m in slack.thread(channel, card.ts) if m.text.startswith("Customer: ")]
        assert quoted and any("sole came off" in b["text"]["text"] for b in card.blocks if "text" in b)
        cid = find_customer(store, f"telegram:{TELEGRAM_CHAT}")

        result = forget_customer(store, settings, cid, "tester", clock.now())
        assert (result.posts_deleted, result.cards_redrawn) == (len(quoted), 1)
        clock.set(clock.now() + timedelta(seconds=5))
        for _ in range(len(quoted) + 3):                 # Slack's 1 post/s per channel
            await core.dispatcher.run_once()
            clock.set(clock.now() + timedelta(seconds=2))

        assert {m.ts for m in slack.workspace.deleted} == {m.ts for m in quoted}
        left = slack.messages_in(channel)
        assert not any("sole came off" in m.text or "ok thanks" in m.text for m in left)
        card = slack.message(channel, card.ts)
        assert card.edited >= 1
        shown = " ".join(str(b) for b in card.blocks)
        assert "sole came off" not in shown and "Ana" not in shown and f"forgotten-{cid}" in shown
        assert store.db.execute("select count(*) from outbox where kind in ('delete_post', 'case_update') "
                                "and status != 'sent'").fetchone()[0] == 0
        assert "sole came off" not in held_text(store) and str(TELEGRAM_CHAT) not in held_text(store)

        # they write again from the same Telegram account: read by nobody, answered by nobody
        screen = len(world.server("telegram").messages_to(TELEGRAM_CHAT))
        rows = {t: store.db[t].count for t in ("customers", "identities", "messages", "outbox")}
        for text in ("hello again, my sole came off", "/start"):
            injected = await world.server("telegram").user_sends(TELEGRAM_CHAT, text)
            await wait_processed(store, "telegram", str(injected.update_id))
        # and tap the deep link they were once sent
        token = make_link_token(cid, SECRET, int((clock.now() + timedelta(days=1)).timestamp()))
        injected = await world.server("telegram").user_sends(TELEGRAM_CHAT, f"/start {token}")
        await wait_processed(store, "telegram", str(injected.update_id))
        clock.set(clock.now() + timedelta(minutes=1))
        core.scheduler.tick(clock.now())
        await core.dispatcher.run_once()
        assert len(world.server("telegram").messages_to(TELEGRAM_CHAT)) == screen
        assert {t: store.db[t].count for t in rows} == rows
        assert "sole came off" not in held_text(store)

        # the shop's next order export still lists the old order, and a new one by the same person
        old = scenario.order
        row = dict(line=1, customer_ref=SIM_CUSTOMER_REF, channel="telegram", product=str(old["product"]),
                   sku=str(old["sku"]), category="footwear", customer_name="Ana Silva", address=str(TELEGRAM_CHAT),
                   purchased_at=clock.now() - timedelta(days=10), shipped_at=clock.now() - timedelta(days=9),
                   delivered_at=clock.now() - timedelta(days=5), status="delivered", consent=True)
        report = import_rows(store, settings, [OrderRow(order_id=str(old["order_id"]), **row),
                                               OrderRow(order_id="A-2002", **row)], clock.now())
        assert (report.forgotten, report.inserted) == (1, 1)
        assert store.orders.get(str(old["order_id"])) is None
        new_customer = store.orders.get("A-2002").customer_id
        assert new_customer != cid
        [identity] = store.customers.identities_of(new_customer)
        assert not identity.consent                     # nothing proactive until they opt in again
        for _ in range(3):
            clock.set(clock.now() + timedelta(days=2))
            core.scheduler.tick(clock.now())
            await core.dispatcher.run_once()
        assert len(world.server("telegram").messages_to(TELEGRAM_CHAT)) == screen
        assert {t.status for t in store.orders.touchpoints("A-2002") if t.kind == "checkin"} == \
            {"suppressed:no_consent"}
        # the file cannot switch consent back on; the same import again changes nothing
        import_rows(store, settings, [OrderRow(order_id="A-2002", **row)], clock.now())
        assert not store.customers.identities_of(new_customer)[0].consent
        assert store.db.execute("select count(*) from messages where text = ?", [ERASED]).fetchone()[0] > 0
    finally:
        await world.stop()
        store.close()
