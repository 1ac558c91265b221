"""A score stated in free text ("I'd give it a 4", "5/5") counts; a number that is not a rating does not."""
import pytest

from bot.engine.scores import score_from_text


@pytest.mark.parametrize("words,expected", [
    ("4", 4), ("5!", 5), (" 3 ", 3), ("five", 5), ("Four.", 4),
    ("I'd give it a 4", 4), ("i would rate it 5", 5), ("I'd rate them a 2", 2), ("rated 3", 3),
    ("5/5", 5), ("4 / 5", 4), ("3 out of 5", 3), ("two stars", 2), ("1 star, never again", 1),
    ("10/10", 5), ("8 out of 10", 4), ("0/10", 1), ("it's a 4", 4), ("a solid 4", None),
])
def test_csat_scale(words, expected):
    assert score_from_text(words, 1, 5) == expected


@pytest.mark.parametrize("words", [
    "it broke after 2 days", "I ordered 3 pairs", "size 44 is too small", "arrived on the 5th",
    "", "🙂", "no idea", "call me at 555 1234", "6", "0",
])
def test_not_a_csat_score(words):
    assert score_from_text(words, 1, 5) is None


@pytest.mark.parametrize("words,expected", [("10", 10), ("0", 0), ("9 out of 10", 9), ("I'd say 7", 7),
                                            ("4/5", 8), ("eleven", None), ("11", None)])
def test_nps_scale(words, expected):
    assert score_from_text(words, 0, 10) == expected


def test_ces_scale_and_bounds():
    assert score_from_text("7", 1, 7) == 7
    assert score_from_text("8", 1, 7) is None
    assert score_from_text("6/7", 1, 7) == 6


def test_more_than_out_of_is_not_a_score():
    assert score_from_text("6/5", 1, 5) is None


def test_rating_entity_as_fallback():
    assert score_from_text("pretty good overall", 1, 5, rating_entity="four") == 4
    assert score_from_text("pretty good overall", 1, 5, rating_entity="9") is None
    assert score_from_text("pretty good overall", 1, 5, rating_entity="lots") is None
