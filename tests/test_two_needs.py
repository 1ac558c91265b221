"""Two needs in one message ("arrived broken, I want a refund"), end to end with the real
Rasa model: the case keeps the problem type and the request both, the store records both
and the agent's card shows both."""
from __future__ import annotations

import pytest

from tests.support.harness import Harness, make_settings

pytestmark = pytest.mark.nlu


@pytest.mark.parametrize("words,problem,ask", [
    ("the mug arrived chipped and I want my money back", "damaged", "refund"),
    ("it stopped charging after three days, please send a replacement", "defective",
     "replacement"),
])
async def test_a_problem_and_a_request_in_one_message(rasa_parser, words, problem, ask):
    h = Harness(make_settings(schedule={"weekly_cap": 5}), parser=rasa_parser)
    await h.start_checkin()
    await h.press("1")
    await h.say(words)
    case = h.case()
    assert case.reason in {"product_problem", "return_refund"}
    assert (case.problem_type, case.request) == (problem, ask)
    card = h.core.cases.card(case.id, h.clock.now())
    assert (card["problem_type"], card["request"]) == (problem, ask)
    assert f"/ {problem} / wants {ask}" in h.desk.posts[0].text


async def test_a_problem_without_a_request_stores_none(rasa_parser):
    h = Harness(make_settings(schedule={"weekly_cap": 5}), parser=rasa_parser)
    await h.start_checkin()
    await h.press("1")
    await h.say("the glass lid came shattered")
    case = h.case()
    assert case.problem_type == "damaged" and case.request is None
