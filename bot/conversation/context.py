"""Build the engine's read-only Context (template variables, guards' facts) from the store.

The template variables are the vocabulary's: each registered `Variable` computes its value from
the same `Facts`, so a new variable is one registration, never an edit here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from bot.base.codes import personal_code
from bot.base.lazy import EachOnFirstRead, OnFirstRead
from bot.config.settings import Settings
from bot.engine.flows import Tips
from bot.engine.state import Context, Timing
from bot.engine.vocabulary import Facts, Vocabulary
from bot.i18n.catalogs import Catalogs, translator
from bot.store.rows import ConversationRow, CustomerRow, LineItemRow, StoredOrder, as_mapping
from bot.store.store import Identity, Store


def timing(settings: Settings) -> Timing:
    schedule = settings.schedule
    return Timing(schedule.reminder_after, schedule.close_after, schedule.not_used_yet_delay)


@dataclass(frozen=True)
class Known:
    """Rows the caller has already read in the same transaction (the inbound handler reads
    the customer, their latest order and its items, and their open case to route a message),
    so the context does not read them again: one inbound message, each row read once.
    None: not known, read it."""

    customer: Optional[CustomerRow] = None
    order: Optional[StoredOrder] = None
    items: Optional[Sequence[LineItemRow]] = None
    has_case: Optional[bool] = None
    identity: Optional[Identity] = None
    conversation: Optional[ConversationRow] = None
    language: Optional[str] = None         # `customer`'s language (customer_language), worked out


NOTHING_KNOWN = Known()


def build_context(store: Store, settings: Settings, customer_id: int, order_id: Optional[str],
                  sku: Optional[str], vocabulary: Vocabulary,
                  catalogs: Optional[Catalogs] = None, platform_language: Optional[str] = None,
                  touchpoint: Optional[str] = None, tips: Optional[Tips] = None,
                  known: Known = NOTHING_KNOWN) -> Context:
    """Everything a flow may mention about this customer, order and product, in their language
    (`touchpoint`: the kind of touchpoint that started the conversation, for its milestone gift;
    `tips`: the onboarding tips of dialogs/tips.yml; `known`: rows the caller already read)."""
    order = known.order if known.order is not None and known.order.order_id == order_id else None
    item = _item(store, order_id, sku, known.items if order is not None else None)
    customer = known.customer if known.customer is not None and known.customer.id == customer_id \
        else store.customers.get(customer_id)
    language = known.language if known.language is not None and customer is known.customer \
        else customer_language(settings, customer, platform_language)
    translate = translator(catalogs or Catalogs(), language)
    product = item.get("sku") or sku or ""
    # what only some steps use is read when one first does (bot/base/lazy.py), in this transaction
    issued = OnFirstRead(lambda: issued_codes(store, customer_id))
    facts = Facts(customer=as_mapping(customer), item=item, order_id=order_id,
                  sku=product, category=item.get("category") or "", settings=settings,
                  order=as_mapping(order) if order is not None else OnFirstRead(lambda: _order(store, order_id)),
                  touchpoint=touchpoint or "",
                  count_orders=lambda: store.orders.count_for_customer(customer_id), language=language,
                  translate=translate, history=OnFirstRead(lambda: history(store, customer_id)),
                  code_key=code_key(settings, store), issued=issued)
    key = offer_key(settings, product)
    refill = refill_key(settings, product)
    has_case = known.has_case if known.has_case is not None else store.cases.active_for_customer(customer_id) is not None
    before = EachOnFirstRead({"upsell_offered": lambda: _offered(store, customer_id, key),
                              "refill_offered": lambda: _offered(store, customer_id, refill),
                              "referral_asked": lambda: "referral" in issued})
    earlier: Mapping[str, Any] = OnFirstRead(lambda: store.conversations.order_facts(customer_id, order_id)) \
        if order_id else {}
    return Context(variables=vocabulary.values(facts), timing=timing(settings), has_open_case=has_case,
                   offer_key=key, refill_key=refill, before=before, earlier=earlier,
                   translate=translate, language=language,
                   tips=tips.for_product(facts.sku, facts.category) if tips else {})


def _offered(store: Store, customer_id: int, key: Optional[str]) -> bool:
    """Was this distinct offer made to the customer before (False for no offer)?"""
    return store.conversations.offer_made_before(customer_id, key) if key else False


def history(store: Store, customer_id: int) -> dict[str, dict]:
    """What the customer told us before, for the `last_*` template variables: their latest case,
    their latest resolved case and their latest score (each left out when there is none)."""
    found = {"last_case": store.cases.latest_for_customer(customer_id),
             "last_resolved": store.cases.latest_for_customer(customer_id, resolved=True),
             "last_score": store.conversations.last_score(customer_id)}
    return {key: as_mapping(row) for key, row in found.items() if row}


def code_key(settings: Settings, store: Store) -> bytes:
    """The key of personal codes: referrals.secret (${AFTERCARE_SECRET}), else the install's own."""
    configured = settings.referrals.secret
    return configured.get_secret_value().encode() if configured else store.install_secret()


def referral_code(store: Store, settings: Settings, customer_ref: str) -> str:
    """The referral code of the customer with this reference: the one they were given, else the
    one they would be given (what a storefront keeps from their personal link)."""
    customer_id = store.customers.id_of_ref(customer_ref)
    given = store.referrals.of_customer(customer_id) if customer_id is not None else None
    return given.code if given else personal_code(code_key(settings, store), "referral", customer_ref)


def issued_codes(store: Store, customer_id: int) -> dict[str, str]:
    """The personal codes this customer was given: "referral", and "gift:<kind>" per milestone."""
    given = {f"gift:{gift.kind}": gift.code for gift in store.referrals.gifts(customer_id)}
    referral = store.referrals.of_customer(customer_id)
    if referral:
        given["referral"] = referral.code
    return given


def customer_language(settings: Settings, customer: CustomerRow, platform_language: Optional[str] = None) -> str:
    """Whose language: the customer's own choice (/language), else the order's `language`
    column, else what the platform says (the language code or locale the channel reports), else
    the shop's default. Regional variants fall back to their base language's texts."""
    return customer.speaks(settings.languages.enabled, settings.languages.default, platform_language)


def _item(store: Store, order_id: Optional[str], sku: Optional[str],
          known: Optional[Sequence[LineItemRow]] = None) -> dict[str, Any]:
    """The line item the conversation is about (else the order's first), as `Facts` reads it
    (`known`: the order's items, already read)."""
    if not order_id:
        return {}
    items = known if known is not None else store.orders.items(order_id)
    for item in items:
        if item.sku == sku:
            return as_mapping(item)
    return as_mapping(items[0]) if items else {}


def _order(store: Store, order_id: Optional[str]) -> dict[str, Any]:
    order = store.orders.get(order_id) if order_id else None
    return as_mapping(order) if order else {}


def offer_key(settings: Settings, sku: str) -> Optional[str]:
    """The distinct offer `offer_upsell` makes for this SKU: its upsell (upsell.skus)."""
    return f"upsell:{sku}" if sku in settings.upsell.skus else None


def refill_key(settings: Settings, sku: str) -> Optional[str]:
    """The distinct offer `offer_refill` makes for this SKU: its refill, at the expected run-out
    (upsell.replenishment); a check-in never makes it."""
    return f"refill:{sku}" if sku in settings.upsell.replenishment else None
