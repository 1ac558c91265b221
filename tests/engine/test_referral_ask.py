"""The referral / testimonial ask in the shipped flows, through the pure engine: promoters only
(NPS 9-10, CSAT 5), a resolved case is no obstacle but an open one is, never after a "no" or a
problem, once ever per customer (shared/CONVERSATION.md: asks only to happy customers)."""
from __future__ import annotations

import pytest

from tests.engine.helpers import Talk, action, actions, context, texts

LINK = "https://shop.example/r/ANA12345"
ASK = f"Thank you, that means a lot! If a friend could use Trail Runner 2 shoes too, here is your personal link to share: {LINK}"
INVITE = ("Would you tell me in one sentence what you like about us? We may share it with other shoppers, "
          "with your first name only.")


def talk(flows, flow: str = "checkin", asked_before: bool = False, **ctx) -> Talk:
    variables = {"referral.url": LINK, "referral.code": "ANA12345", "referral.testimonials": "yes",
                 "upsell__offer": None, **ctx.pop("variables", {})}
    conversation = Talk(flows, context(**ctx, **variables, referral_asked_before=asked_before))
    conversation.begin(flow)
    return conversation


def test_csat_5_after_a_resolved_case_gets_the_review_link_and_no_second_ask(flows):
    # one ask per conversation (shared/CONVERSATION.md, Safety): the referral waits for the NPS touchpoint
    conversation = talk(flows, earlier={"had_case": True, "csat": 2})         # the case on this order is resolved
    conversation.press("5")
    out = conversation.press("yes")
    assert texts(out) == ["Thank you! Here's the link: https://shop.example/review/TR2-44"]
    assert "ask_referral" not in actions(out) and conversation.state.status == "closed"


@pytest.mark.parametrize("case", [
    dict(has_open_case=True),                                     # an open case (any order): no ask at all
    dict(asked_before=True),                                      # once ever
    dict(variables={"referral.url": None, "referral.testimonials": ""}),   # nothing configured
])
def test_no_referral_ask(flows, case):
    conversation = talk(flows, **case)
    conversation.press("5")
    outs = [conversation.press("yes")] if conversation.state.status != "closed" else []
    assert all("ask_referral" not in actions(out) for out in conversation.outcomes + outs)
    assert not any(INVITE in texts(out) for out in conversation.outcomes)


def test_csat_4_is_not_a_promoter(flows):
    conversation = talk(flows)
    conversation.press("4")
    out = conversation.press("yes")
    assert texts(out) == ["Thank you! Here's the link: https://shop.example/review/TR2-44"]


def test_no_ask_after_a_declined_review(flows):
    conversation = talk(flows)
    conversation.press("5")
    out = conversation.press("no")
    assert texts(out) == ["No problem at all. Enjoy Trail Runner 2 shoes!"]
    assert "ask_referral" not in actions(out)


def test_no_ask_when_a_problem_comes_with_the_score(flows):
    conversation = talk(flows)
    out = conversation.say("5/5 but the box was damaged", "product_problem", problem_type="damaged")
    assert "ask_referral" not in actions(out) and INVITE not in texts(out)


def test_the_review_is_the_one_ask_upsell_and_referral_wait(flows):
    conversation = talk(flows, variables={"upsell.offer": "Trail socks"})
    conversation.press("5")
    out = conversation.press("yes")
    assert actions(out) == [] and INVITE not in texts(out) and len(texts(out)) == 1


@pytest.mark.parametrize("score", ["9", "10"])
def test_an_nps_promoter_is_asked_instead_of_for_a_review(flows, score):
    conversation = talk(flows, "nps")
    out = conversation.press(score)
    assert texts(out) == [ASK]                    # the link is the one ask: no testimonial invitation beside it
    assert conversation.slots["referral_asked"] is True and conversation.state.status == "closed"


def test_an_nps_passive_is_thanked(flows):
    conversation = talk(flows, "nps")
    assert texts(conversation.press("8")) == ["Thank you for the feedback!"]


def test_an_nps_promoter_asked_before_gets_the_review_request(flows):
    conversation = talk(flows, "nps", asked_before=True)
    out = conversation.press("10")
    assert texts(out) == ["That means a lot, thank you! If you have a minute, a review helps others: "
                          "https://shop.example/review/TR2-44"]


def test_testimonials_off_sends_the_link_alone(flows):
    conversation = talk(flows, "nps", variables={"referral.testimonials": ""})
    out = conversation.press("10")
    assert texts(out) == [ASK] and conversation.state.status == "closed"


def test_no_link_configured_invites_the_testimonial_alone(flows):
    conversation = talk(flows, "nps", variables={"referral.url": None})
    out = conversation.press("10")
    assert texts(out) == [INVITE]
    assert action(out, "ask_referral").args["link"] is None


def test_a_sentence_is_kept_as_a_testimonial(flows):
    conversation = talk(flows, "nps", variables={"referral.url": None})
    conversation.press("10")
    out = conversation.say("Light, comfy and they arrived in two days.", "works_well")
    assert texts(out) == ["Thank you, Ana! I've passed it on to the team."]
    assert action(out, "record_testimonial").args["text"] == "Light, comfy and they arrived in two days."


@pytest.mark.parametrize("answer", ["tap", "deny"])
def test_no_thanks_keeps_nothing(flows, answer):
    conversation = talk(flows, "nps", variables={"referral.url": None})
    conversation.press("10")
    out = conversation.press("no") if answer == "tap" else conversation.say("nope", "deny")
    assert texts(out) == ["No problem at all. Thanks again!"]
    assert "record_testimonial" not in actions(out)


def test_a_problem_instead_of_a_testimonial_is_escalated(flows):
    conversation = talk(flows, "nps", variables={"referral.url": None})
    conversation.press("10")
    out = conversation.say("actually the sole came off", "product_problem", problem_type="defective")
    assert action(out, "escalate").args["reason"] == "product_problem"
    assert "record_testimonial" not in actions(out)
