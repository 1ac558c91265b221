"""Wiring of the network-free core: store + flows + NLU + engine + runner + cases + inbound +
scheduler + dispatcher. `aftercare run`, `simulate`, `chat` and the tests all build it here."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Collection, Mapping, Optional, cast

from bot.base.agent_events import AgentAction, AgentActionKind, DeskAnswer, Form, Notice
from bot.conversation.cases import SUPPORT, CaseHandler, DeskPosts
from bot.channels.base import Channel, SupportDesk
from bot.channels.registry import ChannelRegistry, desk_limits, sending_limits
from bot.channels.spec import Capability, LooksUpEmail, LooksUpLocale
from bot.base.clock import Clock
from bot.config.settings import Settings
from bot.conversation.context import code_key
from bot.conversation.effects import Effects
from bot.engine.flows import FlowSet
from bot.engine.machine import Engine
from bot.base.events import DeliverLater, InboundEvent
from bot.conversation.identities import resolve_emails, resolve_locales
from bot.conversation.inbound import InboundHandler
from bot.nlu.base import Parser, aunderstand
from bot.live.outbox import Dispatcher, Limits
from bot.conversation.runner import ConversationRunner
from bot.schedule.scheduler import Scheduler
from bot.plugins.manager import Plugins
from bot.plugins.shop_vocabulary import load_shop_flows
from bot.store.store import Store

log = logging.getLogger(__name__)


def default_limits(settings: Settings, channels: Optional[ChannelRegistry] = None) -> dict[str, Limits]:
    """Per-channel sending limits, as each channel declares them from its config section, and
    the support desk's, from the channel that carries it."""
    limits = {name: Limits(**spec) for name, spec in sending_limits(settings, channels).items()}
    desk = desk_limits(settings, channels)
    if desk is not None:
        limits[SUPPORT] = Limits(**desk)
    return limits


@dataclass
class Core:
    settings: Settings
    store: Store
    clock: Clock
    flows: FlowSet
    runner: ConversationRunner
    cases: CaseHandler
    inbound: InboundHandler
    scheduler: Scheduler
    dispatcher: Dispatcher
    desk: Optional[SupportDesk] = None
    channels: dict[str, Channel] = field(default_factory=dict)
    channel_specs: ChannelRegistry = field(default_factory=ChannelRegistry)
    # per channel: the identity id the next `resolve_locales` pass starts after
    locale_cursor: dict[str, int] = field(default_factory=dict)

    async def on_event(self, event: InboundEvent) -> None:
        """The callback every channel adapter delivers to."""
        try:
            text = self.inbound.text_to_parse(event)
            parse = (await aunderstand(self.inbound.parser, text, self.inbound.expected_language(event))
                     if text is not None else None)
            self.inbound.handle(event, self.clock.now(), parse=parse)
        except DeliverLater:            # nothing committed: the channel leaves it unconfirmed
            raise
        except Exception:  # a weird message never crashes the bot
            log.exception("inbound event %s/%s could not be handled", event.channel, event.event_id)

    async def resolve_emails(self) -> int:
        """Give customers imported by email an address on every channel that can look them up."""
        resolved = 0
        for spec in self.channel_specs.with_capability(Capability.EMAIL_LOOKUP):
            channel = self.channels.get(spec.name)
            if channel is not None:
                lookup = cast(LooksUpEmail, channel).lookup_user_by_email
                resolved += await resolve_emails(self.store, lookup, self.clock.now(), spec.name)
        return resolved

    async def resolve_locales(self) -> int:
        """Give customers whose language nothing tells (no choice, no order language) their
        platform's language, before the first message goes out: a few per call, each channel
        that declares LOCALE_LOOKUP in turn; the adapter asks once per user."""
        stored = 0
        for spec in self.channel_specs.with_capability(Capability.LOCALE_LOOKUP):
            channel = self.channels.get(spec.name)
            if channel is not None:
                lookup = cast(LooksUpLocale, channel).user_locale
                found, self.locale_cursor[spec.name] = await resolve_locales(
                    self.store, lookup, spec.name, self.locale_cursor.get(spec.name, 0), limit=spec.locale_lookups)
                stored += found
        return stored

    async def on_agent_action(self, action: AgentAction) -> None:
        """The callback the support desk delivers agent actions to."""
        now = self.clock.now()
        if self.store.events.seen(SUPPORT, action.event_id):
            log.info("duplicate agent action %s ignored", action.event_id)
            return
        channel = action.channel_id or self.cases.channel
        is_member = await self.desk.is_member(channel, action.agent_id) if self.desk else True
        target_ok = True
        if action.kind is AgentActionKind.ASSIGN and action.value and self.desk:
            target_ok = await self.desk.is_member(channel, action.value)
        # The dedupe row and the action's effect commit together: an exception in between
        # rolls both back, so a redelivery applies the action instead of dropping it.
        with self.store.transaction():
            if not self.store.events.first_time(SUPPORT, action.event_id, now):
                return
            answer: DeskAnswer
            if not self.cases.authorized(action.agent_id, is_member):
                answer = "Only members of the support channel can act on cases."
            elif not self.cases.authorized(action.value, target_ok):
                answer = "Cases go only to members of the support channel: that person is not one."
            else:
                answer = self.cases.handle(action, now)
        if self.desk is not None:
            await answer_agent(self.desk, channel, action, answer)


async def answer_agent(desk: SupportDesk, channel: str, action: AgentAction, answer: DeskAnswer) -> None:
    """Tell the agent what came of their action: a line only they see, or the form it opens."""
    if isinstance(answer, Form):
        if action.kind is AgentActionKind.FORM_CHOICE and action.form_id:
            await desk.update_form(action.form_id, answer)
        else:
            await desk.open_form(action.trigger_id, answer)
    elif isinstance(answer, Notice):
        await desk.post_ephemeral(channel, action.agent_id, answer.text, mentions=answer.mentions)
    elif answer:
        await desk.post_ephemeral(channel, action.agent_id, answer)


def build_core(settings: Settings, store: Store, parser: Parser, clock: Clock,
               channels: Mapping[str, Channel], desk: Optional[SupportDesk] = None,
               flows: Optional[FlowSet] = None, link_secret: Optional[bytes] = None,
               limits: Optional[Mapping[str, Limits]] = None, sends_on: Optional[Collection[str]] = None,
               effects: Optional[Effects] = None, channel_specs: Optional[ChannelRegistry] = None,
               plugins: Optional[Plugins] = None) -> Core:
    """The whole network-free bot. `sends_on`: the channels this process sends on (another
    process sends the rest); all when None. `plugins`: where the flows' vocabulary, the store
    side of their actions (`effects`) and the channels' declarations (`channel_specs`) come from
    when those are not given; without plugins, the built-ins."""
    if plugins is not None:
        flows = flows or plugins.flows(settings)
        effects = effects if effects is not None else plugins.effects()
        channel_specs = channel_specs if channel_specs is not None else plugins.channels()
    specs = channel_specs if channel_specs is not None else ChannelRegistry()
    flows = flows or load_shop_flows(settings)
    code_key(settings, store)       # a broken install secret stops the start, not a conversation later
    runner = ConversationRunner(store, Engine(flows), settings, effects)
    cases = CaseHandler(store, runner, settings)
    inbound = InboundHandler(store, runner, cases, parser, flows.texts, settings, link_secret=link_secret,
                             catalogs=flows.catalogs, channels=specs)
    scheduler = Scheduler(store, runner, cases, settings)
    dispatcher = Dispatcher(store, channels, clock, limits if limits is not None else default_limits(settings, specs),
                            outlets={SUPPORT: DeskPosts(store, cases, desk, clock)}, sends_on=sends_on)
    return Core(settings, store, clock, flows, runner, cases, inbound, scheduler, dispatcher, desk, dict(channels),
                specs)
