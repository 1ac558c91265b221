"""Agents' notes through the core: never relayed, kept in the desk's log, erased with the customer."""
from __future__ import annotations

from bot.store.privacy import ERASED
from tests.support.harness import Harness, make_settings


async def test_a_note_is_logged_not_relayed_and_forgotten_with_the_customer():
    h = Harness(make_settings(schedule={"weekly_cap": 5}))
    await h.start_checkin()
    await h.press("1")
    await h.say("the sole came off")
    sent = list(h.texts())
    await h.agent("note", "Ana Silva lives at 1 Rua Nova; refund approved")
    assert h.texts() == sent
    assert "refund approved" in h.desk_texts()[-1] and "Internal note" in h.desk_texts()[-1]
    [note] = [a for a in h.store.desk.actions() if a.kind == "note"]
    assert note.detail == "Ana Silva lives at 1 Rua Nova; refund approved"
    with h.store.transaction():
        h.store.privacy.forget(h.customer_id(), "test", h.clock.now())
    [note] = [a for a in h.store.desk.actions() if a.kind == "note"]
    assert note.detail == ERASED
