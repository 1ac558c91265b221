"""The claim is one compare-and-set in the store: two agents holding the same view of an open case
(read before either acted) cannot both take it."""
from __future__ import annotations

from tests.support.harness import Harness, make_settings


async def test_a_claim_made_from_a_stale_view_loses():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.press("1")
    await h.say("the sole came off")
    seen_by_both = h.case()                      # both agents read the case while it is open
    desk = h.core.cases.desk
    with h.store.transaction():
        assert desk.claim(seen_by_both, "U0ANA", h.clock.now()) is True
        assert desk.claim(seen_by_both, "U0BO", h.clock.now()) is False
    assert (h.case().status, h.case().agent) == ("claimed", "U0ANA")
    assert [a.kind for a in h.store.desk.actions()].count("claim") == 1
    assert h.store.desk.hand_over(h.case().id, "U0BO", "U0BO") is False     # only from its owner
    assert h.store.desk.release(h.case().id, "U0BO") is False
