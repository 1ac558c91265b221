"""A shop extends the flow vocabulary from outside bot/: one registration per new word, and the real
loader, engine, runner and store use it. Nothing global: the shop's words never leak into another
vocabulary."""
from __future__ import annotations

import shutil
from datetime import timedelta
import textwrap
from pathlib import Path

import pytest

from bot.engine.builtins import default_vocabulary
from bot.engine.flows import FlowError
from bot.flowfiles import load_flows
from bot.conversation.effects import Effect, default_effects
from bot.engine.vocabulary import Action, Arg, Condition, Guard, Turn, Variable, Vocabulary, VocabularyError
from tests.engine.helpers import Talk, texts
from tests.support.harness import DIALOGS, Harness


def dialogs_with(tmp_path: Path, thank_you: str) -> Path:
    """The shipped dialogs/, with the thank-you flow replaced by `thank_you`."""
    folder = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, folder)
    (folder / "thank_you.yml").write_text(textwrap.dedent(thank_you), encoding="utf-8")
    return folder


async def thank_you_texts(folder: Path, vocabulary: Vocabulary) -> tuple[Harness, list[str]]:
    """Import one order through the real core and let its thank-you go out. The engine side of an
    action is pure; what it writes is its effect's applier, registered beside it."""
    h = Harness(flows=load_flows(folder, vocabulary), effects=default_effects().register("give_coupon", _store_coupon))
    # bought an hour ago: a thank-you anchored 3 days back is past its 2-day expiry (config.yml)
    h.add_order(status="placed", delivered=None, purchased=h.clock.now() - timedelta(hours=1))
    await h.pump()
    return h, h.texts()


# ---- an action -------------------------------------------------------------------------------

def _give_coupon(turn: Turn) -> None:
    turn.slots["coupon"] = turn.args["code"]
    turn.emit("give_coupon", code=turn.args["code"])


def _store_coupon(effect: Effect) -> None:
    effect.store.conversations.add_response(effect.conversation_id, effect.identity.customer_id, effect.order_id,
                                            effect.sku, "coupon", None, effect.args["code"], None, [], effect.now)


GIVE_COUPON = Action("give_coupon", "give the customer a discount code", _give_coupon,
                     args=(Arg("code", "the code", required=True,
                               check=lambda v: None if str(v).isupper() else "a code is upper case"),))

COUPON_FLOW = """\
    flow: thank_you
    steps:
      thanks:
        action: give_coupon
        args: {code: THANKS10}
        say: "Thanks {customer.first_name}! Here is {slots.coupon} for next time."
        end: true
    """


async def test_a_registered_action_runs_through_the_engine_and_the_runner(tmp_path):
    vocabulary = default_vocabulary().register(GIVE_COUPON)
    h, texts = await thank_you_texts(dialogs_with(tmp_path, COUPON_FLOW), vocabulary)
    assert "Thanks Ana! Here is THANKS10 for next time." in texts
    assert [(r.metric, r.text) for r in h.responses()] == [("coupon", "THANKS10")]


def test_an_unregistered_action_is_refused_by_the_loader(tmp_path):
    with pytest.raises(FlowError, match="unknown action 'give_coupon'"):
        load_flows(dialogs_with(tmp_path, COUPON_FLOW))


def test_a_registered_action_validates_its_args(tmp_path):
    vocabulary = default_vocabulary().register(GIVE_COUPON)
    with pytest.raises(FlowError, match="a code is upper case"):
        load_flows(dialogs_with(tmp_path, COUPON_FLOW.replace("THANKS10", "thanks10")), vocabulary)
    with pytest.raises(FlowError, match="`give_coupon` needs `args: {code: <value>}`"):
        load_flows(dialogs_with(tmp_path / "2", COUPON_FLOW.replace("args: {code: THANKS10}", "")), vocabulary)
    with pytest.raises(FlowError, match="takes no argument 'percent'"):
        load_flows(dialogs_with(tmp_path / "3", COUPON_FLOW.replace("code: THANKS10", "code: X, percent: 10")),
                   vocabulary)


# ---- a guard ---------------------------------------------------------------------------------

SHOE_LOVER = Guard("bought_shoes", "the order line is footwear",
                   lambda slots, ctx: ctx.variables.get("product.category") == "footwear")

GUARDED_FLOW = """\
    flow: thank_you
    steps:
      thanks:
        guard: bought_shoes
        else: plain
        say: "Enjoy the run, {customer.first_name}!"
        end: true
      plain:
        say: "Thank you for your order."
        end: true
    """


@pytest.mark.parametrize("category,expected", [("footwear", "Enjoy the run, Ana!"),
                                               ("kitchen", "Thank you for your order.")])
async def test_a_registered_guard_decides_the_path(tmp_path, category, expected):
    vocabulary = default_vocabulary().register(SHOE_LOVER)
    h = Harness(flows=load_flows(dialogs_with(tmp_path, GUARDED_FLOW), vocabulary))
    h.add_order(status="placed", delivered=None, category=category, purchased=h.clock.now() - timedelta(hours=1))
    await h.pump()
    assert h.texts() == [expected]


def test_an_unregistered_guard_is_refused_by_the_loader(tmp_path):
    with pytest.raises(FlowError, match="unknown guard 'bought_shoes'"):
        load_flows(dialogs_with(tmp_path, GUARDED_FLOW))


# ---- a template variable ---------------------------------------------------------------------

ORDER_LINK = Variable("order.link", "where the customer can follow the order",
                      lambda facts: f"https://shop.example/orders/{facts.order_id}")

LINK_FLOW = """\
    flow: thank_you
    steps:
      thanks:
        say: "Thank you! Follow your order at {order.link}"
        end: true
    """


async def test_a_registered_variable_is_filled_from_the_store(tmp_path):
    vocabulary = default_vocabulary().register(ORDER_LINK)
    _, texts = await thank_you_texts(dialogs_with(tmp_path, LINK_FLOW), vocabulary)
    assert texts == ["Thank you! Follow your order at https://shop.example/orders/A-1"]


def test_an_unregistered_variable_is_refused_by_the_loader(tmp_path):
    with pytest.raises(FlowError, match=r"unknown template variable \{order.link\}"):
        load_flows(dialogs_with(tmp_path, LINK_FLOW))


# ---- the registry itself ---------------------------------------------------------------------

def test_vocabularies_are_separate_objects():
    shop = default_vocabulary().register(GIVE_COUPON, SHOE_LOVER, ORDER_LINK)
    plain = default_vocabulary()
    assert "give_coupon" in shop.actions and "give_coupon" not in plain.actions
    assert "bought_shoes" in shop.guards and "bought_shoes" not in plain.guards
    assert "order.link" in shop.variables and "order.link" not in plain.variables


def test_a_name_is_registered_once():
    with pytest.raises(VocabularyError, match="action 'escalate' is already registered"):
        default_vocabulary().register(Action("escalate", "a second escalate", lambda turn: None))


# ---- a branch condition ----------------------------------------------------------------------

WORDY = Condition("words_at_least", "typed text of at least this many words",
                  lambda wanted, reading: reading.answer.typed is not None
                  and len(reading.answer.text.split()) >= int(wanted),
                  lambda value, question: None if isinstance(value, int) else "give a number of words")

WORDY_FLOW = """\
    flow: thank_you
    steps:
      ask:
        ask: "Anything to tell us?"
        free_text: true
        on:
          - when: {words_at_least: 5}
            say: "Thank you for the detail!"
            goto: end
          - default: true
            say: "Thanks!"
            goto: end
    """


@pytest.mark.parametrize("words,reply", [("it is fine", "Thanks!"),
                                         ("the sole came off after two runs", "Thank you for the detail!")])
def test_a_registered_condition_picks_the_branch(tmp_path, words, reply):
    vocabulary = default_vocabulary().register(WORDY)
    talk = Talk(load_flows(dialogs_with(tmp_path, WORDY_FLOW), vocabulary))
    talk.begin("thank_you")
    assert texts(talk.say(words)) == [reply]


def test_a_registered_condition_checks_its_value(tmp_path):
    vocabulary = default_vocabulary().register(WORDY)
    with pytest.raises(FlowError, match="give a number of words"):
        load_flows(dialogs_with(tmp_path, WORDY_FLOW.replace("words_at_least: 5", "words_at_least: many")), vocabulary)
    with pytest.raises(FlowError, match="unknown condition 'words_at_least'"):
        load_flows(dialogs_with(tmp_path / "2", WORDY_FLOW))
