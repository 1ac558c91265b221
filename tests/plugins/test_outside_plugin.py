"""An outside package extends Aftercare through the plugin hooks alone, with no edit in bot/: a
channel (its config section, addresses, limits and adapter), an action with the effect it writes,
a touchpoint anchor, a report figure and a CLI command. A check-in runs through all of them:
config validated with the channel's section and the anchor's name, an order naming the channel,
the check-in timed from the new anchor, the real scheduler, dispatcher and runner, the action's
effect in the store, the figure in `aftercare report --json` and the terminal report, and the
command reading the effect back. The plugin is also found the way an installed package's is:
through the `aftercare` entry point group."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Optional

import click
import pytest
from click.testing import CliRunner

from bot.base.clock import SimClock, parse_iso
from bot.channels.console import MemoryDesk
from bot.channels.registry import section
from bot.cli import main
from bot.config.settings import ConfigError
from bot.conversation.effects import Effect
from bot.engine.vocabulary import Action, Turn
from bot.live.app import run_live
from bot.live.core import build_core, default_limits
from bot.orders.files import parse_orders
from bot.orders.importing import import_rows
from bot.plugins.hookspecs import hookimpl
from bot.plugins.manager import Plugins
from bot.report.figures import ReportFigure
from bot.schedule.anchors import AnchorContext, TouchpointAnchor
from bot.schedule.facts import OrderFacts
from bot.store.store import Store
from tests.channels.webchat import SPEC, WebChatChannel
from tests.support.harness import CONFIG, DIALOGS, T0, RecordingParser
from tests.support.waiting import until

ORDERS = """order_id,customer_ref,customer_name,channel,address,product,sku,category,purchased_at,delivered_at,consent
W-1,C-9,Rui Costa,webchat,w-42,Trail Runner 2 shoes,TR2-44,footwear,2026-10-25,2026-10-29,yes
"""
CHECKIN = """\
flow: checkin
steps:
  stamp:
    action: give_stamp
    say: "Hi {customer.first_name}! Here is a loyalty stamp for your {product.name}."
    end: true
"""


def _give_stamp(turn: Turn) -> None:
    turn.emit("give_stamp", stamp=f"stamp for {turn.ctx.variables.get('product.name')}")


def _store_stamp(effect: Effect) -> None:
    effect.store.conversations.add_response(effect.conversation_id, effect.identity.customer_id, effect.order_id,
                                            effect.sku, "stamp", None, effect.args["stamp"], None, [], effect.now)


def _weekend_after_delivery(order: OrderFacts, at: AnchorContext) -> Optional[datetime]:
    """10:00 UTC on the first Saturday after the delivery (people try things out at weekends)."""
    if order.delivered_at is None:
        return None
    day = order.delivered_at.replace(hour=10, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(5 - day.weekday() - 1) % 7 + 1)


WEEKEND = TouchpointAnchor("weekend_after_delivery", "delivered", _weekend_after_delivery,
                           "the first Saturday after the delivery, 10:00 UTC")


def _stamps_given(db: Any, period: Mapping[str, Optional[str]]) -> int:
    """Loyalty stamps given in the period (the plugin's own query over the store)."""
    return db.execute("select count(*) from responses where metric = 'stamp' and (:since is null or at >= :since) "
                      "and (:until is null or at < :until)", dict(period)).fetchone()[0]


STAMPS = ReportFigure("stamps_given", "loyalty stamps given", compute=_stamps_given)


@click.command("stamps")
@click.pass_context
def stamps(ctx: click.Context) -> None:
    """Print the loyalty stamps given, one a line."""
    services = ctx.find_root().obj
    store = services["store"](services["settings"]())
    for response in store.conversations.responses():
        if response.metric == "stamp":
            click.echo(response.text)


class StampPlugin:
    """Everything the outside package adds, as hook implementations."""

    @hookimpl
    def aftercare_channels(self):
        return [SPEC]

    @hookimpl
    def aftercare_vocabulary(self):
        return [Action("give_stamp", "give the customer a loyalty stamp", _give_stamp)]

    @hookimpl
    def aftercare_effects(self):
        return {"give_stamp": _store_stamp}

    @hookimpl
    def aftercare_touchpoint_anchors(self):
        return [WEEKEND]

    @hookimpl
    def aftercare_report_figures(self):
        return [STAMPS]

    @hookimpl
    def aftercare_cli_commands(self):
        return [stamps]


@dataclass
class Install:
    config: Path
    db: Path


@pytest.fixture
def install(tmp_path: Path) -> Install:
    """The shipped config and dialogs, with the check-in flow replaced by one that uses the plugin's
    action, timed from the plugin's anchor, and a `channels.webchat` section only the plugin's
    channel model knows."""
    dialogs = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, dialogs)
    (dialogs / "checkin.yml").write_text(CHECKIN, encoding="utf-8")
    db = tmp_path / "aftercare.db"
    text = CONFIG.read_text(encoding="utf-8").replace("channels:\n", "channels:\n  webchat:\n    per_visitor_per_second: 3\n", 1)
    text = text.replace("${AFTERCARE_DB:-data/aftercare.db}", str(db))
    timed = text.replace("    checkin:\n      from: delivery\n      after: 4d\n      categories: {electronics: 3d, skincare: 14d, footwear: 4d}",
                         "    checkin:\n      from: weekend_after_delivery\n      after: 2h\n      categories: {}")
    assert timed != text, "the shipped config.yml's check-in changed: update this fixture"
    text = timed
    config = tmp_path / "config.yml"
    config.write_text(text + f"dialogs_dir: {dialogs}\n", encoding="utf-8")
    return Install(config, db)


def test_config_is_validated_with_the_plugin_channels_section(install, tmp_path):
    plugins = Plugins.load(StampPlugin(), entry_points=False)
    settings = plugins.load_settings(install.config, environ={})
    assert section(settings, "webchat", plugins.channels()).per_visitor_per_second == 3.0
    bad = tmp_path / "bad.yml"
    bad.write_text(install.config.read_text(encoding="utf-8").replace("per_visitor_per_second: 3", "per_visitor_per_second: fast"))
    with pytest.raises(ConfigError, match="channels.webchat.per_visitor_per_second") as caught:
        plugins.load_settings(bad, environ={})
    lines = bad.read_text(encoding="utf-8").splitlines()
    assert caught.value.line == lines.index("    per_visitor_per_second: fast") + 1
    delivery = tmp_path / "delivery.yml"       # timed from a built-in anchor: only the channel is the plugin's
    delivery.write_text(install.config.read_text(encoding="utf-8").replace("from: weekend_after_delivery", "from: delivery"))
    with pytest.raises(ConfigError, match="channels.webchat: unknown key"):
        Plugins.load(entry_points=False).load_settings(delivery, environ={})   # without the plugin


def test_config_may_time_a_kind_from_the_plugins_anchor_only_with_the_plugin(install):
    settings = Plugins.load(StampPlugin(), entry_points=False).load_settings(install.config, environ={})
    assert settings.schedule.touchpoints["checkin"].anchor == "weekend_after_delivery"
    no_channel = install.config.read_text(encoding="utf-8").replace("  webchat:\n    per_visitor_per_second: 3\n", "")
    install.config.write_text(no_channel, encoding="utf-8")
    with pytest.raises(ConfigError, match="schedule.touchpoints.checkin.from: 'weekend_after_delivery': not a "
                                          "touchpoint anchor") as caught:
        Plugins.load(entry_points=False).load_settings(install.config, environ={})
    assert caught.value.line == no_channel.splitlines().index("      from: weekend_after_delivery") + 1


async def test_a_checkin_runs_through_the_plugins_channel_action_effect_and_command(install):
    plugins = Plugins.load(StampPlugin(), entry_points=False)
    settings = plugins.load_settings(install.config, environ={})
    channels = plugins.channels()
    rows, errors = parse_orders(ORDERS, "csv", "orders.csv", channels=channels)
    assert errors == [] and [r.channel for r in rows] == ["webchat"]

    store, clock, channel = Store.open(install.db), SimClock(T0), WebChatChannel()
    core = build_core(settings, store, RecordingParser(), clock, {"webchat": channel}, desk=MemoryDesk(),
                      flows=plugins.flows(settings), effects=plugins.effects(), channel_specs=channels)
    assert default_limits(settings, channels)["webchat"].per_address == 3.0   # the plugin's config section
    import_rows(store, settings, rows, clock.now())
    due = parse_iso(next(t for t in store.orders.touchpoints("W-1") if t.kind == "checkin").due_at)
    assert due.isoformat() == "2026-10-31T12:00:00+00:00"     # delivered Thu 29th: Saturday 10:00, + 2h
    store.orders.skip_touchpoints_before("W-1", due)
    clock.set(max(due, clock.now()))
    await channel.start(core.on_event)
    core.scheduler.tick(clock.now())
    await core.dispatcher.run_once()

    assert [m.text for m in channel.sent] == ["Hi Rui! Here is a loyalty stamp for your Trail Runner 2 shoes."]
    assert channel.sent[0].address == "w-42"
    assert [(r.metric, r.text) for r in store.conversations.responses()] == [("stamp", "stamp for Trail Runner 2 shoes")]
    store.close()
    result = CliRunner().invoke(main, ["--config", str(install.config), "stamps"], obj={"plugins": plugins})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["stamp for Trail Runner 2 shoes"]

    as_json = CliRunner().invoke(main, ["--config", str(install.config), "report", "--json"], obj={"plugins": plugins})
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["overall"]["stamps_given"] == 1
    terminal = CliRunner().invoke(main, ["--config", str(install.config), "report"], obj={"plugins": plugins})
    assert terminal.exit_code == 0, terminal.output
    assert [line.split() for line in terminal.output.splitlines() if "loyalty stamps given" in line] == \
        [["loyalty", "stamps", "given", "1"]]
    before = CliRunner().invoke(main, ["--config", str(install.config), "report", "--json", "--since", "2026-11-03"],
                                obj={"plugins": plugins})
    assert json.loads(before.output)["overall"]["stamps_given"] == 0          # the figure keeps to the period


def test_orders_import_and_watch_take_the_plugins_channel(install, tmp_path):
    """The CLI hands the loaded plugins' channels to the importers: an order naming the web chat
    is imported by `orders import` and `orders watch`, and refused without the plugin."""
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    plugins = Plugins.load(StampPlugin(), entry_points=False)
    imported = CliRunner().invoke(main, ["--config", str(install.config), "orders", "import", str(orders)],
                                  obj={"plugins": plugins})
    assert imported.exit_code == 0, imported.output
    assert imported.output.startswith("1 new, 0 updated")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "more.csv").write_text(ORDERS.replace("W-1,", "W-2,"), encoding="utf-8")
    os.utime(inbox / "more.csv", (0, 0))            # long settled: the watcher picks it up at once
    watched = CliRunner().invoke(main, ["--config", str(install.config), "orders", "watch", "--once", "--every", "1s",
                                        str(inbox)], obj={"plugins": plugins})
    assert watched.exit_code == 0, watched.output
    assert (inbox / "done" / "more.csv").is_file() and "1 new" in watched.output
    plain = tmp_path / "plain.yml"             # the same install without the plugin's section and anchor
    plain.write_text(install.config.read_text(encoding="utf-8").replace("  webchat:\n    per_visitor_per_second: 3\n", "")
                     .replace("from: weekend_after_delivery", "from: delivery"), encoding="utf-8")
    without = CliRunner().invoke(main, ["--config", str(plain), "orders", "import", str(orders)],
                                 obj={"plugins": Plugins.load(entry_points=False)})
    assert without.exit_code == 3 and '"webchat" is not a channel' in without.output


LIVE_WEBCHAT = replace(SPEC, adapter="tests.channels.webchat:WebChatChannel", live=lambda section: True)


class LiveStampPlugin(StampPlugin):
    """The same package, its web chat with a live adapter (always on: it needs no credentials)."""

    @hookimpl
    def aftercare_channels(self):
        return [LIVE_WEBCHAT]


async def test_the_live_bot_starts_the_plugins_channel(install, caplog):
    """`aftercare run`'s live wiring (`run_live`) starts the channels of the plugins it is given."""
    caplog.set_level(logging.INFO, logger="aftercare")
    plugins = Plugins.load(LiveStampPlugin(), entry_points=False)
    settings = plugins.load_settings(install.config, environ={}, overrides={"server": {"port": 0}})
    stop = asyncio.Event()
    live = asyncio.create_task(run_live(settings, Store.open(install.db), RecordingParser(), SimClock(T0),
                                        stop=stop, plugins=plugins))
    try:
        await until(lambda: live.done() or any("ready:" in r.getMessage() for r in caplog.records), timeout=60)
        assert not live.done(), live.exception()
    finally:
        stop.set()
        assert await live == 0
    ready = next(r.getMessage() for r in caplog.records if "ready:" in r.getMessage())
    assert ready.startswith("ready: channels webchat,"), ready


class TelegramAgainPlugin:
    """A package that declares a second channel named "telegram"."""

    @hookimpl
    def aftercare_channels(self):
        return [replace(SPEC, name="telegram")]


def test_a_channel_name_declared_twice_is_one_line_naming_it(install):
    result = CliRunner().invoke(main, ["--config", str(install.config), "cases"],
                                obj={"plugins": Plugins.load(StampPlugin(), TelegramAgainPlugin(), entry_points=False)})
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: a channel named 'telegram' is already registered: two plugins")
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def test_the_command_exists_only_with_its_plugin(install):
    with_plugin = CliRunner().invoke(main, ["--help"], obj={"plugins": Plugins.load(StampPlugin(), entry_points=False)})
    assert "stamps" in with_plugin.output
    without = CliRunner().invoke(main, ["--config", str(install.config), "stamps"],
                                 obj={"plugins": Plugins.load(entry_points=False)})
    assert without.exit_code == 2 and "No such command 'stamps'" in without.output


def test_an_installed_package_is_found_through_the_entry_point_group(tmp_path, monkeypatch):
    """A package's `[project.entry-points.aftercare]` is all it takes: here a dist-info on the path."""
    (tmp_path / "aftercare_stamps.py").write_text(textwrap.dedent("""\
        from tests.plugins.test_outside_plugin import StampPlugin
        plugin = StampPlugin()
        aftercare_channels = plugin.aftercare_channels
        aftercare_vocabulary = plugin.aftercare_vocabulary
        aftercare_effects = plugin.aftercare_effects
        aftercare_cli_commands = plugin.aftercare_cli_commands
        aftercare_touchpoint_anchors = plugin.aftercare_touchpoint_anchors
        aftercare_report_figures = plugin.aftercare_report_figures
        """), encoding="utf-8")
    info = tmp_path / "aftercare_stamps-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aftercare-stamps\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[aftercare]\nstamps = aftercare_stamps\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "aftercare_stamps", raising=False)
    plugins = Plugins.load()
    assert "webchat" in plugins.channels().names()
    assert "give_stamp" in plugins.vocabulary().actions and plugins.effects().get("give_stamp") is _store_stamp
    assert "stamps" in [c.name for c in plugins.commands()]
    assert plugins.anchors()["weekend_after_delivery"] is WEEKEND and STAMPS in plugins.figures()
    assert "webchat" not in Plugins.load(entry_points=False).channels().names()
