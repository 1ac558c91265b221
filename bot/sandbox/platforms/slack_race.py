"""Two agents racing on every case at once, through the real slack-bolt app and the loopback
Slack: for each case both press Claim and both answer in its thread, all delivered together;
then each leaves a private note on every case (button -> modal -> submit). What must come out: one owner per case,
exactly one message to each customer (the owner's), no note in any customer message, and the
losing agent told, once per refused claim or reply. `make bench` runs it at 200 cases
(bench/desk_race_bench.py); a test runs a small one."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from bot.channels.console import ConsoleChannel
from bot.channels.slack import SlackChannel
from bot.base.clock import SimClock
from bot.config.settings import Settings
from bot.live.core import Core, build_core
from bot.nlu.base import Parse, SyncParser
from bot.base.kinds import Owner
from bot.sandbox.platforms.slack_api import SlackSandbox
from bot.store.store import Store
from bot.desk.posts import queue_case_card

NOTE = "internal: refund approved by finance"


@dataclass
class RaceResult:
    cases: int
    seconds: float                                            # the simultaneous claims and replies
    owners: Counter = field(default_factory=Counter)           # agent -> cases owned
    customer_messages: dict[str, list[str]] = field(default_factory=dict)   # address -> texts
    ephemerals: Counter = field(default_factory=Counter)       # agent -> lines only they saw
    told_owner: int = 0                                       # ephemerals naming the case's owner
    notes_posted: int = 0

    @property
    def duplicates(self) -> int:
        """Customer messages beyond the one each customer should get."""
        return sum(max(0, len(texts) - 1) for texts in self.customer_messages.values())

    @property
    def missing(self) -> int:
        return sum(1 for texts in self.customer_messages.values() if not texts)

    @property
    def relayed_notes(self) -> int:
        return sum(1 for texts in self.customer_messages.values() for t in texts if NOTE in t)

    @property
    def losers_told(self) -> int:
        """Refusals shown to the agent who lost each case (2 per case: its claim and its reply)."""
        return self.told_owner


class _NoNlu(SyncParser):
    """Nobody writes in the race: any text is out of scope."""

    def parse(self, text: str, language: Optional[str] = None) -> Parse:
        return Parse(text, "out_of_scope", 1.0)


async def race(settings: Settings, cases: int = 200) -> RaceResult:
    """Open `cases` cases, then let two agents claim, reply and note every one at once."""
    sandbox = SlackSandbox(rate=0)
    await sandbox.start()
    ana, bo = sandbox.add_user("ana"), sandbox.add_user("bo")
    support = sandbox.add_channel("support", [ana, bo])
    escalation = settings.escalation.copy(update={"support_channel": support})
    settings = settings.copy(update={"escalation": escalation})
    slack = SlackChannel(bot_token=sandbox.token, signing_secret=sandbox.signing_secret,
                         base_url=sandbox.base_url, support_channels=[support])
    customers = ConsoleChannel()
    store = Store.memory()
    clock = SimClock(datetime.now(timezone.utc).replace(microsecond=0))
    core = build_core(settings, store, _NoNlu(), clock, {"console": customers}, desk=slack.desk, limits={})
    try:
        await slack.start(core.on_event, core.on_agent_action)
        sandbox.events_url = slack.events_url
        _open_cases(store, settings, clock.now(), cases)
        await core.dispatcher.run_once()
        await _drain(core)
        started = time.perf_counter()
        work = []
        cards = [(str(case.card_ts), str(case.id)) for case in store.cases.all_active()]
        for ts, ref in cards:
            for agent in (ana, bo):
                work.append(sandbox.user_clicks(agent, support, ts, "case_claim", ref))
                work.append(sandbox.user_posts_in_thread(support, ts, agent, f"reply from {agent} on case {ref}"))
        random.Random(23).shuffle(work)       # whose request comes first differs from case to case
        await asyncio.gather(*work)
        await slack.idle()
        seconds = time.perf_counter() - started
        # then each agent leaves a note on every case, both at once (a person opens one modal at a time)
        await asyncio.gather(*(_notes(sandbox, agent, support, cards) for agent in (ana, bo)))
        await slack.idle()
        await _drain(core)
        result = RaceResult(cases, seconds)
        owner_of_address: dict[str, str] = {}
        for case in store.cases.all_active():
            result.owners[str(case.agent)] += 1
            conversation = store.conversations.get(case.conversation_id)
            address = str(store.customers.identity(conversation.identity_id).address)
            owner_of_address[address] = str(case.agent)
            result.customer_messages[address] = []
        for sent in customers.sent:
            result.customer_messages.setdefault(sent.address, []).append(sent.text)
        for eph in sandbox.ephemerals:
            result.ephemerals[eph.user] += 1
            if " owns this case" in eph.text and eph.text.startswith("<@"):
                result.told_owner += 1
        result.notes_posted = sum(1 for m in sandbox.messages_in(support) if "Internal note" in m.text)
        return result
    finally:
        await slack.stop()
        await sandbox.stop()
        store.close()


async def _notes(sandbox: SlackSandbox, agent: str, support: str, cards: list[tuple[str, str]]) -> None:
    for ts, ref in cards:
        await sandbox.user_clicks(agent, support, ts, "case_note", ref)
        view = sandbox.views_of(agent)[-1]
        sandbox.type_in_view(agent, view.id, "text", NOTE)
        await sandbox.user_submits_view(agent, view.id)


def _open_cases(store: Store, settings: Settings, now: datetime, count: int) -> None:
    """`count` customers, each with a conversation waiting for a person and its case card queued."""
    channel = settings.escalation.support_channel
    with store.transaction():
        for n in range(1, count + 1):
            customer = store.customers.upsert(f"race-{n}", f"Racer {n}", None, None, None, now)
            identity = store.customers.ensure_identity(customer, "console", f"racer-{n}", True, now, "race")
            conversation = store.conversations.create(customer, identity, None, None, "checkin", "triage", now)
            store.conversations.set_owner(conversation, Owner.HUMAN.value, now)
            case = store.cases.open(conversation, customer, None, "human", None, "a person, please", [], now,
                                    settings.escalation.sla_due("human", now) - now)
            queue_case_card(store, channel, case, conversation, now)


async def _drain(core: Core) -> None:
    """Send everything due now (the clock stands still: nothing later is waited for)."""
    for _ in range(10_000):
        nxt = await core.dispatcher.run_once()
        if nxt is None or nxt > core.clock.now():
            return
