"""An outside plugin's action whose store-side effect nothing applies never writes nothing quietly.

Declared (`Action.effects`) and unapplied: one line naming the plugin, the action and the effect,
when the plugins load, in `aftercare flows check`, at start-up. Emitted without being declared:
nothing of that step is written, and the customer's reply (or the touchpoint) is run again once
a plugin applies the effect, with its record."""
from __future__ import annotations

import logging
import shutil
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.base.events import DeliverLater, InboundKind
from bot.cli import main
from bot.conversation.effects import Effect
from bot.engine.vocabulary import Action, Turn
from bot.live.core import build_core
from bot.plugins.hookspecs import hookimpl
from bot.plugins.manager import MissingApplierError, Plugins
from bot.store.store import Store
from tests.support.harness import DIALOGS, Harness, RecordingParser, make_settings, write_config

MISSING = ("action 'give_coupon' emits effect 'store_coupon', which no plugin applies "
           "(add its applier to the plugin's aftercare_effects)")


def _give_coupon(turn: Turn) -> None:
    turn.emit("store_coupon", code="THANKS10")


def _store_coupon(effect: Effect) -> None:
    effect.store.conversations.add_response(effect.conversation_id, effect.identity.customer_id, effect.order_id,
                                            effect.sku, "coupon", None, effect.args["code"], None, [], effect.now)


class CouponPlugin:
    """Declares what its action writes, but ships no applier for it (the bug)."""

    @hookimpl
    def aftercare_vocabulary(self):
        return [Action("give_coupon", "give a discount code", _give_coupon, effects=("store_coupon",))]


class CouponAppliers:
    """Another package that applies the effect: an applier may come from any plugin."""

    @hookimpl
    def aftercare_effects(self):
        return {"store_coupon": _store_coupon}


class UndeclaredCouponPlugin:
    """Emits an effect it never declared, and applies none: only running it can tell."""

    @hookimpl
    def aftercare_vocabulary(self):
        return [Action("give_coupon", "give a discount code", _give_coupon)]


# ---- declared, no applier: refused before any customer meets it ------------------------------

def test_the_plugins_refuse_an_action_whose_effect_nothing_applies():
    with pytest.raises(MissingApplierError) as caught:
        Plugins.load(CouponPlugin(), entry_points=False).effects()
    assert str(caught.value) == f"plugin 'CouponPlugin': {MISSING}"
    assert Plugins.load(CouponPlugin(), CouponAppliers(), entry_points=False).effects().get("store_coupon") \
        is _store_coupon


def test_flows_check_says_it_in_one_line_and_exits_1(tmp_path):
    config = write_config(tmp_path, tmp_path / "aftercare.db")
    broken = CliRunner().invoke(main, ["--config", str(config), "flows", "check"],
                                obj={"plugins": Plugins.load(CouponPlugin(), entry_points=False)})
    assert broken.exit_code == 1
    assert broken.output.splitlines() == [f"error: plugin 'CouponPlugin': {MISSING}"]
    fixed = CliRunner().invoke(main, ["--config", str(config), "flows", "check"],
                               obj={"plugins": Plugins.load(CouponPlugin(), CouponAppliers(), entry_points=False)})
    assert fixed.exit_code == 0, fixed.output


def test_the_bot_does_not_start_with_it():
    """`aftercare run`, `chat` and `simulate` build their core from the plugins (start-up)."""
    plugins = Plugins.load(CouponPlugin(), entry_points=False)
    with pytest.raises(MissingApplierError, match="plugin 'CouponPlugin': action 'give_coupon'"):
        build_core(make_settings(), Store.memory(), RecordingParser(), None, {}, plugins=plugins)  # type: ignore[arg-type]


def test_an_installed_package_is_named_by_its_entry_point(tmp_path, monkeypatch):
    (tmp_path / "aftercare_coupons.py").write_text(textwrap.dedent("""\
        from tests.plugins.test_effect_appliers import CouponPlugin
        aftercare_vocabulary = CouponPlugin().aftercare_vocabulary
        """), encoding="utf-8")
    info = tmp_path / "aftercare_coupons-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aftercare-coupons\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[aftercare]\ncoupons = aftercare_coupons\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "aftercare_coupons", raising=False)
    with pytest.raises(MissingApplierError) as caught:
        Plugins.load().effects()
    assert str(caught.value) == f"plugin 'coupons': {MISSING}"


# ---- emitted but undeclared: found while running, and nothing is lost ---------------------------

CHECKIN = """\
    flow: checkin
    steps:
      ask:
        ask: "How are your {product.name}?"
        choices: [{label: "Good", value: "good"}]
        free_text: true
        on:
          - default: true
            goto: thanks
      thanks:
        action: give_coupon
        say: "Thanks! Here is a code for next time."
        end: true
    """

THANK_YOU = """\
    flow: thank_you
    steps:
      thanks:
        action: give_coupon
        say: "Thanks for your order! Here is a code for next time."
        end: true
    """


def _harness(tmp_path: Path, flow: str, text: str, **overrides) -> Harness:
    folder = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, folder)
    (folder / f"{flow}.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    plugins = Plugins.load(UndeclaredCouponPlugin(), entry_points=False)
    settings = make_settings(**overrides)
    return Harness(settings, flows=plugins.flows(settings, folder), effects=plugins.effects())


async def test_a_reply_whose_step_emits_an_unapplied_effect_is_kept_for_redelivery(tmp_path, caplog):
    h = _harness(tmp_path, "checkin", CHECKIN)
    await h.start_checkin()
    assert h.texts() == ["How are your Trail Runner 2 shoes?"]
    before = (h.conversation(), h.store.outbox.counts(), h.responses())
    reply = h.event(InboundKind.BUTTON, button_value="good", reply_to=h.last_question_id())
    with pytest.raises(DeliverLater, match="action 'give_coupon' emitted effect 'store_coupon', which no plugin "
                                           "applies"):
        await h.core.on_event(reply)         # raised to the channel: it leaves the update unconfirmed
    assert [r.levelno for r in caplog.records if "store_coupon" in r.getMessage()] == [logging.ERROR]
    assert (h.conversation(), h.store.outbox.counts(), h.responses()) == before     # nothing of the step
    h.core.runner.effects.register("store_coupon", _store_coupon)     # the fixed plugin, after a restart
    await h.core.on_event(reply)                                       # the platform delivers it again
    await h.pump()
    assert h.texts()[-1] == "Thanks! Here is a code for next time."
    assert [(r.metric, r.text) for r in h.responses()] == [("coupon", "THANKS10")]


async def test_a_touchpoint_whose_step_emits_an_unapplied_effect_is_held_and_the_tick_goes_on(tmp_path):
    h = _harness(tmp_path, "thank_you", THANK_YOU)
    h.add_order(status="placed", delivered=None, purchased=h.clock.now() - timedelta(hours=1))
    await h.pump()                                      # the scheduler's tick does not raise
    assert h.texts() == [] and h.conversations() == []
    held = h.touchpoint("A-1", "thank_you")
    assert held.status == "held" and held.held_reason == "effect not applied"
    h.core.runner.effects.register("store_coupon", _store_coupon)
    await h.advance(timedelta(hours=1))
    assert h.texts() == ["Thanks for your order! Here is a code for next time."]
    assert [(r.metric, r.text) for r in h.responses()] == [("coupon", "THANKS10")]


RESUMED = """\
    flow: checkin
    steps:
      later:
        action: reschedule
        args: {resume: thanks, after: 1d}
      thanks:
        action: give_coupon
        say: "Thanks for waiting! Here is a code for next time."
        end: true
    """


async def test_a_wake_up_whose_step_emits_an_unapplied_effect_is_put_off(tmp_path):
    h = _harness(tmp_path, "checkin", RESUMED, schedule={"weekly_cap": 5})
    await h.start_checkin()
    waiting = h.conversation()
    await h.advance(timedelta(days=1))                 # the wake-up is due: its step cannot be applied
    assert h.texts() == [] and h.responses() == []
    assert h.conversation().step == waiting.step and h.conversation().wake_at > waiting.wake_at   # an hour on
    h.core.runner.effects.register("store_coupon", _store_coupon)
    await h.advance(timedelta(hours=1))
    assert h.texts() == ["Thanks for waiting! Here is a code for next time."]
    assert [(r.metric, r.text) for r in h.responses()] == [("coupon", "THANKS10")]


SHOP_MODULE = '''\
from bot.engine.vocabulary import Action


def register(vocabulary):
    vocabulary.register(Action("give_coupon", "give a discount code", lambda turn: None, effects=("store_coupon",)))
'''


def test_a_shop_vocabulary_module_is_held_to_the_same_rule(tmp_path):
    """config.yml's `vocabulary:` modules add actions but no appliers: one that declares an effect
    needs a plugin that applies it."""
    config = write_config(tmp_path, tmp_path / "aftercare.db")
    (tmp_path / "shop_coupons.py").write_text(SHOP_MODULE, encoding="utf-8")
    with config.open("a", encoding="utf-8") as out:
        out.write("vocabulary:\n  - shop_coupons.py\n")
    broken = CliRunner().invoke(main, ["--config", str(config), "flows", "check"],
                                obj={"plugins": Plugins.load(entry_points=False)})
    assert broken.exit_code == 1
    assert broken.output.splitlines() == [f"error: {config}: vocabulary module (shop_coupons.py): {MISSING}"]
    fixed = CliRunner().invoke(main, ["--config", str(config), "flows", "check"],
                               obj={"plugins": Plugins.load(CouponAppliers(), entry_points=False)})
    assert fixed.exit_code == 0, fixed.output
