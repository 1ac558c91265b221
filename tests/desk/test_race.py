"""The race of bench/desk_race_bench.py, small: two agents claim, reply and note every case at once."""
from __future__ import annotations

from bot.sandbox.platforms.slack_race import race
from tests.support.harness import make_settings


async def test_two_agents_racing_on_every_case_one_owner_one_message_losers_told():
    result = await race(make_settings(), cases=12)
    assert sum(result.owners.values()) == 12 and len(result.owners) == 2      # one owner per case, both win some
    assert result.duplicates == 0 and result.missing == 0
    assert result.relayed_notes == 0 and result.notes_posted == 24
    assert result.losers_told == 2 * 12          # each loser: its claim and its reply refused, naming the owner
    for texts in result.customer_messages.values():
        assert len(texts) == 1 and texts[0].startswith("reply from ")
