"""Wiring of the network-free core: store + flows + NLU + engine + runner + cases + inbound +
scheduler + dispatcher. `aftercare run`, `simulate`, `chat` and the tests all build it here."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Optional

from bot.agent_events import AgentAction
from bot.cases import SUPPORT, CaseDesk
from bot.channels.base import Channel, SupportDesk
from bot.clock import Clock
from bot.config import Settings
from bot.engine.flows import FlowSet, load_flows
from bot.engine.machine import Engine
from bot.events import InboundEvent
from bot.inbound import InboundHandler
from bot.nlu.base import Parse, Parser
from bot.outbox import Dispatcher, Limits
from bot.runner import ConversationRunner
from bot.schedule.scheduler import Scheduler
from bot.store.store import Store

log = logging.getLogger(__name__)
# Sends per bot that may go back to back: absorbs timer jitter so the average can reach the
# limit, far below Telegram's own tolerance (the loopback server allows 30).
CHANNEL_BURST = 3


def default_limits(settings: Settings) -> dict[str, Limits]:
    """Per-channel sending limits, from config (Telegram ~30/s per bot and 1/s per chat on average
    with short bursts for replies, Slack ~1/s per channel)."""
    telegram, slack = settings.channels.telegram, settings.channels.slack
    return {
        "telegram": Limits(per_address=telegram.per_chat_per_second, per_channel=telegram.per_bot_per_second,
                           burst=CHANNEL_BURST, reply_burst=telegram.reply_burst),
        "slack": Limits(per_address=slack.per_channel_per_second, per_channel=20.0, burst=1,
                        reply_burst=slack.reply_burst),
        SUPPORT: Limits(per_address=slack.per_channel_per_second, per_channel=slack.per_channel_per_second, burst=1),
    }


@dataclass
class Core:
    settings: Settings
    store: Store
    clock: Clock
    flows: FlowSet
    runner: ConversationRunner
    cases: CaseDesk
    inbound: InboundHandler
    scheduler: Scheduler
    dispatcher: Dispatcher
    desk: Optional[SupportDesk] = None
    channels: dict[str, Channel] = field(default_factory=dict)

    async def on_event(self, event: InboundEvent) -> None:
        """The callback every channel adapter delivers to."""
        try:
            text = self.inbound.text_to_parse(event)
            parse = await self._parse(text) if text is not None else None
            self.inbound.handle(event, self.clock.now(), parse=parse)
        except Exception:  # a weird message never crashes the bot
            log.exception("inbound event %s/%s could not be handled", event.channel, event.event_id)

    async def _parse(self, text: str) -> Optional[Parse]:
        """Parse without blocking the event loop; a failing NLU means 'not understood'."""
        parser = self.inbound.parser
        try:
            if hasattr(parser, "aparse"):
                return await parser.aparse(text)
            return parser.parse(text)
        except Exception:
            log.exception("NLU failed on a message; treating it as not understood")
            return Parse(text=text, intent="nlu_fallback", confidence=0.0)

    async def on_agent_action(self, action: AgentAction) -> None:
        """The callback the support desk delivers agent actions to."""
        now = self.clock.now()
        if self.store.events.seen(SUPPORT, action.event_id):
            log.info("duplicate agent action %s ignored", action.event_id)
            return
        is_member = await self.desk.is_member(action.channel_id or self.cases.channel, action.agent_id) if self.desk else True
        # The dedupe row and the action's effect commit together: an exception in between
        # rolls both back, so a redelivery applies the action instead of dropping it.
        with self.store.transaction():
            if not self.store.events.first_time(SUPPORT, action.event_id, now):
                return
            if not self.cases.authorized(action.agent_id, is_member):
                refusal = "Only members of the support channel can act on cases."
            else:
                refusal = self.cases.handle(action, now)
        if refusal and self.desk:
            await self.desk.post_ephemeral(action.channel_id or self.cases.channel, action.agent_id, refusal)


def build_core(settings: Settings, store: Store, parser: Parser, clock: Clock,
               channels: Mapping[str, Channel], desk: Optional[SupportDesk] = None,
               flows: Optional[FlowSet] = None, link_secret: Optional[bytes] = None,
               limits: Optional[Mapping[str, Limits]] = None) -> Core:
    flows = flows or load_flows(settings.resolve(settings.dialogs_dir))
    runner = ConversationRunner(store, Engine(flows), settings)
    cases = CaseDesk(store, runner, settings)
    runner.on_case_opened = cases.case_opened
    inbound = InboundHandler(store, runner, cases, parser, flows.texts, settings, link_secret=link_secret)
    scheduler = Scheduler(store, runner, cases, settings)
    dispatcher = Dispatcher(store, channels, clock, limits if limits is not None else default_limits(settings),
                            desk=desk, cases=cases)
    return Core(settings, store, clock, flows, runner, cases, inbound, scheduler, dispatcher, desk, dict(channels))
