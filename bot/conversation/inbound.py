"""One entry for everything a customer does: `InboundHandler.handle(event)`.

Order of business: dedupe on (channel, event id) -> who is this -> opt-in/opt-out commands ->
an open case takes the message to its thread -> NLU for free text (never for buttons) ->
engine step -> everything written in one transaction.

Replies that apply at every step live in two places on purpose: those that only answer
(`/language`, `/help`, a sticker or voice note) are sent from here and leave the conversation
as it is (its step, timers and reminders; no conversation is started for them); those that
change it (STOP: opt-out; `human`: a case) are moves of the pure engine, so the runner
commits them with the state. Their texts are one table (`GlobalTexts`), the STOP verdict one
detector (`bot/conversation/optout.py`).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Optional

from bot.conversation.cases import CaseHandler
from bot.channels.registry import ChannelRegistry
from bot.config.settings import Settings
from bot.conversation import language_choice
from bot.conversation.context import Known, customer_language
from bot.engine.flows import GlobalTexts
from bot.engine.machine import Answer
from bot.engine.templates import render
from bot.base.events import InboundEvent, InboundKind
from bot.i18n.catalogs import Catalogs, pick_language
from bot.nlu.base import Parse, Parser, understand
from bot.nlu.cues import with_cues
from bot.conversation.optout import StopDetector, means_stop
from bot.base.kinds import ConversationStatus, OutboxKind
from bot.conversation.runner import ConversationRunner
from bot.store.rows import ConversationRow, CustomerRow, MessageRow
from bot.store.store import Identity, Store

log = logging.getLogger(__name__)

MAX_TEXT = 4000
ACK_EVERY = timedelta(minutes=10)      # a customer whose case is open hears "a person has it" at most this often


class InboundHandler:
    def __init__(self, store: Store, runner: ConversationRunner, cases: CaseHandler, parser: Parser,
                 texts: GlobalTexts, settings: Settings, link_secret: Optional[bytes] = None,
                 channels: Optional[ChannelRegistry] = None, catalogs: Optional[Catalogs] = None) -> None:
        self.store = store
        self.runner = runner
        self.cases = cases
        self.parser = parser
        self.texts = texts
        self.settings = settings
        self.link_secret = link_secret
        self.channels = channels if channels is not None else ChannelRegistry()
        self.catalogs = catalogs if catalogs is not None else Catalogs()
        self.is_stop = StopDetector(self.channels, self.catalogs)

    def text_to_parse(self, event: InboundEvent) -> Optional[str]:
        """The text the NLU must read for this event, or None (buttons never reach the NLU)."""
        text = (event.text or "")[:MAX_TEXT]
        if event.kind in (InboundKind.TEXT, InboundKind.MEDIA) and text.strip() and not self.is_stop.says_stop(event.channel, text):
            return text
        return None

    def handle(self, event: InboundEvent, now: datetime, parse: Optional[Parse] = None) -> bool:
        """Process one inbound event; False when it was a duplicate delivery (invariant 1).

        `parse` may come from the caller (the async path parses off the event loop)."""
        text = (event.text or "")[:MAX_TEXT]
        to_parse = self.text_to_parse(event) if parse is None else None
        if to_parse is not None:
            # outside the write lock: the slow part
            parse = understand(self.parser, to_parse, self.expected_language(event))
        with self.store.transaction():
            if not self.store.events.first_time(event.channel, event.event_id, now):
                log.info("duplicate delivery %s/%s ignored", event.channel, event.event_id)
                return False
            identity, customer = self.store.customers.identity_and_customer_at(event.channel, event.address)
            if identity is not None and not identity.reachable:
                # a blocked bot receives nothing: a message from them means they unblocked it
                self.store.customers.mark_reachable(identity.id)
                identity = self.store.customers.identity(identity.id)
            payload = (event.start_payload or "").strip()
            if event.kind is InboundKind.START and payload:
                self._link(event, payload, now)
                return True
            if identity is None and self.store.privacy.is_suppressed(event.channel, event.address):
                log.info("message from the address of a forgotten customer dropped unread")
                return True                      # never contacted again, nothing re-created
            if event.kind is InboundKind.START:
                self._start(event, identity, now)
                return True
            if identity is None:
                self._reply_unknown(event, now)
                return True
            if event.language_code and event.language_code != identity.language_code:
                self.store.customers.set_language(identity.id, event.language_code)
                identity = self.store.customers.identity(identity.id)
            if identity.opted_out:
                return True                      # silence until they opt in again
            self._dispatch(event, identity, customer, text, parse, now)
        return True

    # ---- routing -----------------------------------------------------------------------

    def _dispatch(self, event: InboundEvent, identity: Identity, customer: Optional[CustomerRow], text: str,
                  parse: Optional[Parse], now: datetime) -> None:
        """Route a message of a known, reachable, opted-in identity (`customer`: its customer's
        row, read with it; None: read it here)."""
        conversation, latest = self.store.conversations.open_and_latest(identity.id)
        self._record_inbound(latest, identity, event, text, now)
        if self._switch_language(event, identity, conversation, text, now):
            return
        stop = self.is_stop(event, text, parse)
        if customer is None or customer.id != identity.customer_id:
            customer = self.store.customers.get(identity.customer_id)
        language = self._language(identity, customer)
        parse = self._understood(text, parse, language)
        case = self.store.cases.active_for_customer(identity.customer_id)
        if case and not stop:           # the case's thread gets it all; the customer hears that a person has it
            shown = _thread_text(event, text)
            if shown or event.photo_ids:
                self.cases.customer_wrote(case, shown, event.photo_ids, now)
            self._acknowledge(identity, case.conversation_id, now)
            return
        if event.kind is InboundKind.MEDIA and not event.photo_ids:
            self._reply(identity, conversation, self._text(identity, "media"), now)
            return
        question = self._current_question(conversation, event.reply_to) if event.kind is InboundKind.BUTTON else None
        if event.kind is InboundKind.BUTTON and question is None:
            log.info("tap on an old question (%s) ignored", event.reply_to)
            return
        asks_help = event.kind is InboundKind.HELP or (event.kind is InboundKind.TEXT and self.catalogs.says(text, "help"))
        answer = Answer(text=text if event.kind is not InboundKind.BUTTON else "",
                        button=event.button_value if event.kind is InboundKind.BUTTON else None,
                        parse=parse, photos=tuple(event.photo_ids), help=asks_help)
        # the detector's verdict, also on the parse in the customer's own language (_understood)
        answer = replace(answer, stop=bool(stop) or means_stop(answer.typed))
        if question is not None and conversation:
            self._mark_chosen(conversation, identity, event, question, now)
        # the step joins handle()'s transaction without a savepoint: any error in it undoes that whole
        if conversation is None:
            order, items = self.store.orders.latest_with_items(identity.customer_id)
            self.runner.start(identity, order.order_id if order else None,
                              items[0].sku if items else None, answer, now,
                              Known(customer=customer, order=order, items=items, has_case=case is not None,
                                    language=language), savepoint=False)
        else:
            self.runner.feed(conversation.id, answer, now, Known(customer=customer, has_case=case is not None,
                                                                 identity=identity, conversation=conversation,
                                                                 language=language), savepoint=False)

    def _acknowledge(self, identity: Identity, conversation_id: int, now: datetime) -> None:
        """Tell a customer whose case is open that a person has their message: at most once per
        ACK_EVERY, so a waiting customer is never left unanswered and never flooded."""
        text = self._text(identity, "case_open")
        if self.store.conversations.bot_said_since(conversation_id, text, now - ACK_EVERY):
            return
        self._reply(identity, self.store.conversations.get(conversation_id), text, now)

    # ---- language ----------------------------------------------------------------------

    def expected_language(self, event: InboundEvent) -> str:
        """The language the sender is expected to write in, for the NLU to read them with that
        language's model first: the customer's (choice > order > platform > shop default), or,
        for a stranger, what their platform says."""
        found = self.store.customers.customer_at(event.channel, event.address)
        if found is None:
            return pick_language([event.language_code], self.settings.languages.enabled,
                                 self.settings.languages.default)
        customer, platform_language = found
        return customer_language(self.settings, customer, event.language_code or platform_language)

    def _language(self, identity: Identity, customer: Optional[CustomerRow] = None) -> str:
        if customer is None or customer.id != identity.customer_id:
            customer = self.store.customers.get(identity.customer_id)
        return customer_language(self.settings, customer, identity.language_code)

    def _text(self, identity: Identity, key: str) -> str:
        """A global text (help, media, ...) in the customer's language."""
        return render(self.catalogs.translate(self.texts[key], self._language(identity)), {}, {})

    def _understood(self, text: str, parse: Optional[Parse], language: str) -> Optional[Parse]:
        """What the engine gets for free text: "a person, please" in any language always means
        `human`; text in a language the model was not trained on is never guessed at; and every
        parse carries the lexical cues (a problem named in words, a "no", a question) that the
        safety policy reads beside the intent (bot/nlu/cues.py)."""
        if parse is None:
            return None
        if self.catalogs.says(text, "human"):
            return Parse(text=text, intent="human", confidence=1.0)
        trained = {lang.split("-")[0] for lang in self.settings.nlu.languages}
        if language.split("-")[0] not in trained:
            return with_cues(Parse(text=text, intent="nlu_fallback", confidence=0.0))
        return with_cues(parse)

    def _switch_language(self, event: InboundEvent, identity: Identity, conversation: Optional[ConversationRow], text: str,
                         now: datetime) -> bool:
        """`/language` -> the menu; a tap on it, or a message that is a language's name -> the
        choice is stored and confirmed in the new language. True when the event was that."""
        enabled = self.settings.languages.enabled
        if event.kind is InboundKind.BUTTON:
            tag = language_choice.chosen(event.button_value, enabled)
        elif event.kind is InboundKind.TEXT and language_choice.is_menu_request(text):
            menu = self._text(identity, "language_menu")
            buttons = [[b.label, b.value] for b in language_choice.buttons(enabled)]
            self._reply(identity, conversation, menu, now, buttons)
            return True
        else:
            tag = language_choice.requested(text, enabled) if event.kind is InboundKind.TEXT else None
        if tag is None:
            return False
        self.store.customers.choose_language(identity.customer_id, tag)
        self._reply(identity, conversation, self._text(identity, "language_set"), now)
        return True

    def _current_question(self, conversation: Optional[ConversationRow], reply_to: Optional[str]) -> Optional[MessageRow]:
        """The question a tap answers: the conversation's waiting question, when the tap is on it."""
        if not conversation or conversation.status != ConversationStatus.WAITING or not conversation.question_message_id:
            return None
        question = self.store.conversations.message(conversation.question_message_id)
        return question if reply_to is None or question.platform_message_id in (None, reply_to) else None

    def _mark_chosen(self, conversation: ConversationRow, identity: Identity, event: InboundEvent, question: MessageRow,
                     now: datetime) -> None:
        label = next((b[0] for b in question.buttons if b[1] == event.button_value), event.button_value or "")
        self.store.outbox.add(identity.channel, identity.address, identity.id, conversation.id, question.text,
                              now, kind=OutboxKind.MARK_CHOSEN,
                              payload={"message_row": question.id, "label": label}, reply=True)

    # ---- opt-in, linking ---------------------------------------------------------------

    def _start(self, event: InboundEvent, identity: Optional[Identity], now: datetime) -> None:
        if identity is None:
            self._reply_unknown(event, now)
        elif identity.opted_out:
            self.store.customers.opt_in(identity.id, now, source=f"{event.channel}:/start")
            self._reply(self.store.customers.identity(identity.id), None, self._text(identity, "opted_in"), now)
        else:
            self._reply(identity, None, self._text(identity, "help"), now)

    def _link(self, event: InboundEvent, token: str, now: datetime) -> None:
        """A start payload: the channel's signed link naming the customer this chat belongs to."""
        spec = self.channels.get(event.channel)
        links = spec.links if spec is not None else None
        if not self.link_secret or links is None:
            self._reply_unknown(event, now, "link_invalid")
            return
        try:
            customer_ref = links.verify(token, self.link_secret, now.timestamp())
        except ValueError as exc:
            log.info("deep link refused: %s", getattr(exc, "reason", exc))
            self._reply_unknown(event, now, "link_invalid")
            return
        customer_id = int(customer_ref)
        if self.store.privacy.forgotten_at(customer_id):
            log.info("deep link of a forgotten customer dropped: never contacted again")
            return
        if not self.store.customers.use_link(links.key(token), customer_id, now):
            self._reply_unknown(event, now, "link_used")
            return
        identity_id = self.store.customers.ensure_identity(customer_id, event.channel, None, True, now,
                                                           source=links.source)
        self.store.customers.bind_address(identity_id, event.address, now, source=links.source)
        identity = self.store.customers.identity(identity_id)
        if event.language_code:
            self.store.customers.set_language(identity_id, event.language_code)
        order = self.store.orders.latest_for_customer(customer_id)
        items = self.store.orders.items(order.order_id) if order else []
        ctx = self.runner.context(customer_id, order.order_id if order else None,
                                  items[0].sku if items else None, event.language_code)
        self._reply(identity, None, ctx.text(self.texts["linked"], {}), now)

    # ---- replies outside a flow --------------------------------------------------------

    def _reply(self, identity: Identity, conversation: Optional[ConversationRow], text: str, now: datetime,
               buttons: Optional[list] = None) -> None:
        conversation_id = conversation.id if conversation else None
        outbox_id = self.store.outbox.add(identity.channel, identity.address, identity.id, conversation_id, text, now,
                                          buttons=buttons, reply=True)
        self.store.conversations.add_message(conversation_id, identity.id, "out", "bot", text, now, buttons=buttons,
                                             outbox_id=outbox_id)

    def _reply_unknown(self, event: InboundEvent, now: datetime, key: str = "help") -> None:
        """Someone we have no identity for: answer them (they wrote first), bind nothing."""
        language = pick_language([event.language_code], self.settings.languages.enabled,
                                 self.settings.languages.default)
        self.store.outbox.add(event.channel, event.address, None, None,
                              render(self.catalogs.translate(self.texts[key], language), {}, {}), now,
                              payload={"unknown_sender": True}, reply=True)

    def _record_inbound(self, conversation: Optional[ConversationRow], identity: Identity, event: InboundEvent, text: str,
                        now: datetime) -> None:
        shown = text if event.kind is not InboundKind.BUTTON else (event.button_value or "")
        if event.photo_ids and not shown:
            shown = f"[photo x{len(event.photo_ids)}]"
        self.store.conversations.add_message(conversation.id if conversation else None, identity.id, "in",
                                             "customer", shown, now, platform_message_id=event.event_id)


def _thread_text(event: InboundEvent, text: str) -> str:
    """What an agent sees in the case thread for one customer event."""
    if event.kind is InboundKind.BUTTON:
        return f"[tapped {event.button_value}]"
    if text.strip():
        return text
    if event.kind is InboundKind.HELP:
        return "/help"
    if event.kind is InboundKind.MEDIA and not event.photo_ids:
        return f"[{event.media_type or 'media'}]"
    return ""
