"""config.yml -> validated, typed settings.

Errors name the file, the line, the key and the reason
(`config.yml:42: schedule.touchpoints.checkin.after: "3 dayz" is not a duration`). Secrets come only from
the environment (`${BOT_TOKEN}`); they are held as SecretStr so they never print.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, create_model, root_validator, validator
from pydantic.fields import SHAPE_SINGLETON

from bot.base.codes import personal_code
from bot.config.model import ConfigModel, duration
from bot.base.durations import parse_duration
from bot.base.yamldoc import SourceError, YamlDoc

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(SourceError):
    """config.yml is unreadable or invalid."""


_Model = ConfigModel
_duration = duration


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValueError(f'"{value}" is not a time of day (use HH:MM)') from None


# ---- sections -------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

class StoreSettings(_Model):
    path: str = "data/aftercare.db"


class UnvalidatedSection(dict):
    """A `channels:` section no channel model has checked yet (settings loaded without the
    plugins' channels): its channel validates it when it reads it (`bot.channels.registry.section`).
    Its values may be secrets, so it never shows them."""

    def __repr__(self) -> str:
        return f"<unvalidated section: {', '.join(map(str, self))}>"

    __str__ = __repr__


class ChannelSections(_Model):
    """`channels:`: one section per channel, each with its channel's own model. Config knows no
    channel: `settings_model` adds their models once the plugins are loaded."""

    class Config:
        extra = "allow"

    @root_validator(pre=True)
    def _unvalidated(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {name: UnvalidatedSection(section) if isinstance(section, dict) else section
                for name, section in values.items()}


ChannelModels = Mapping[str, type[BaseModel]]


class Duration(timedelta):
    """A field type: "4d", "36h", "90m" -> timedelta (errors keep the key of a mapping's entry)."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield _duration


class MessageClass(str, Enum):
    """How much contact pressure a message carries (the governor's rules, bot/schedule/governor.py)."""

    TRANSACTIONAL = "transactional"  # a reply in a conversation being answered, thank-you
    SERVICE = "service"              # about the customer's own order (a delay notice): quiet hours, no cap slot
    PROACTIVE = "proactive"          # check-in, NPS, reminder, replenishment: cap + quiet hours
    OFFER = "offer"                  # review request / upsell: proactive rules + suppression


class Anchor(str, Enum):
    """What a touchpoint kind is timed from."""

    PURCHASE = "purchase"
    SHIPMENT = "shipment"
    DELIVERY = "delivery"            # delivered, else shipped + schedule.expected_transit
    RUN_OUT = "run_out"              # delivery + quantity x usage_days (SKUs in upsell.replenishment)
    LATE = "late"                    # the expected delivery of a shipped, undelivered order (delay notice)
    FIRST_PURCHASE = "first_purchase"  # the customer's first order (of the products in `only`): milestones


class Once(str, Enum):
    """How often a kind may go out: once per line item (each order's own), or once per customer."""

    ITEM = "item"
    CUSTOMER = "customer"            # a milestone: whichever order carries it, one per customer


class Items(str, Enum):
    """Which line items of an order get a touchpoint of a kind."""

    FIRST = "first"                  # one per order, on its first line item
    EACH = "each"                    # one per line item


DEFAULT_PRIORITY = 50                # of a touchpoint kind that declares none


class Audience(_Model):
    """`only:` limits a kind to some products; an empty list does not limit."""

    categories: List[str] = Field(default_factory=list)
    skus: List[str] = Field(default_factory=list)

    def includes(self, sku: str, category: str) -> bool:
        """In the audience: the SKU or the category is listed (or no list limits it)."""
        if not self.categories and not self.skus:
            return True
        return sku in self.skus or category in self.categories


class TouchpointKind(_Model):
    """One kind of touchpoint (`schedule.touchpoints.<name>`): which flow starts, and when.

    Due at the anchor plus `after` (or minus `before`); `categories` / `skus` replace that
    offset for a product category or a SKU (the SKU's wins). `not_before: <kind>` keeps it
    from falling due before that kind's touchpoint for the same line item. Who gets it: the
    first line item of an order or each (`items`), of the products in `only` (default: all).

    Milestones (bot/schedule/touchpoints.py): `from: first_purchase` times a kind from the
    customer's first order (of the products in `only`); `nth_order: 10` puts it on the customer's
    10th order only; `still_buying: 45d` keeps it only while the customer has bought one of the
    products within that long before it falls due (months of a subscription-like SKU);
    `once: customer` sends it at most once per customer; `no_trouble_within: 90d` never sends it
    to a customer with an open case, or with a low score or a case that recent. Every kind has
    `expires:` (required): it is dropped when it could not go out within that long after it fell
    due, never sent late (bot/schedule/expiry.py says why).
    """

    flow: Optional[str] = None       # default: the kind's own name
    # an `Anchor` for the built-ins; any name a plugin declares (bot/schedule/anchors.py)
    anchor: str = Field(..., alias="from",
                        shown_type=" \\| ".join(a.value for a in Anchor) + " \\| a plugin's anchor")
    after: Optional[timedelta] = None
    before: Optional[timedelta] = None
    categories: Dict[str, Duration] = Field(default_factory=dict)
    skus: Dict[str, Duration] = Field(default_factory=dict)
    message_class: MessageClass = Field(MessageClass.PROACTIVE, alias="class")
    items: Items = Items.FIRST
    only: Audience = Audience()
    not_before: Optional[str] = None
    nth_order: Optional[int] = Field(None, ge=1)
    still_buying: Optional[timedelta] = None
    once: Once = Once.ITEM
    no_trouble_within: Optional[timedelta] = None
    expires: timedelta = Field(None)      # required: `_expiry` names what is missing (never sent late)
    # When two compete for the weekly cap, the higher priority goes first (a check-in beats a tip).
    priority: int = DEFAULT_PRIORITY

    class Config:
        allow_population_by_field_name = True

    _d = validator("after", "before", "still_buying", "no_trouble_within", pre=True,
                   allow_reuse=True)(_duration)

    @validator("anchor")
    def _anchor(cls, value: str) -> str:
        """A built-in name as its `Anchor` (so `kind.anchor is Anchor.LATE` reads); a plugin's
        name as it is (`load_settings` checks every name against the plugins' anchors)."""
        try:
            return Anchor(value)
        except ValueError:
            return str(value)

    @property
    def needs_history(self) -> bool:
        """Timed or filtered by the customer's other orders (milestones), not by this order alone."""
        return self.anchor is Anchor.FIRST_PURCHASE or self.nth_order is not None or self.still_buying is not None

    @validator("expires", pre=True, always=True)
    def _expiry(cls, value: Any) -> timedelta:
        """Every kind says how late it may still go out: an import of old orders must never
        send their thank-yous and check-ins weeks late."""
        if value is None:
            raise ValueError("missing: every touchpoint kind needs one (how long after it falls due it may "
                             "still go out, e.g. 2d; past it the touchpoint is dropped, never sent late)")
        value = parse_duration(value)
        if value <= timedelta(0):
            raise ValueError("must be longer than 0")
        return value

    @validator("before")
    def _one_offset(cls, value: Optional[timedelta], values: dict) -> Optional[timedelta]:
        if value is not None and values.get("after") is not None:
            raise ValueError("give `after` or `before`, not both")
        return value

    def offset(self, sku: str, category: str) -> timedelta:
        """From the anchor to the due time: the SKU's offset, else the category's, else the kind's."""
        base = self.skus.get(sku, self.categories.get(category, self.before if self.before is not None
                                                    else self.after or timedelta(0)))
        return -base if self.before is not None else base


class QuietHours(_Model):
    start: time = time(21, 0)
    end: time = time(9, 0)

    _t = validator("start", "end", pre=True, allow_reuse=True)(_clock_time)


class ScheduleSettings(_Model):
    # The touchpoint anchors the kinds may name (bot/schedule/anchors.py), every plugin's, by
    # name: set by `load_settings(anchors=...)`, not a config key. Empty: the built-ins alone.
    _anchors: Mapping[str, Any] = PrivateAttr(default_factory=dict)

    timezone: str = "UTC"
    expected_transit: timedelta = timedelta(days=5)
    touchpoints: Dict[str, TouchpointKind] = Field(default_factory=dict)
    quiet_hours: QuietHours = QuietHours()
    weekly_cap: int = Field(default=1, ge=0)
    reminder_after: timedelta = timedelta(hours=24)
    close_after: timedelta = timedelta(hours=48)
    not_used_yet_delay: timedelta = timedelta(days=7)

    _d = validator("expected_transit", "reminder_after", "close_after", "not_used_yet_delay",
                   pre=True, allow_reuse=True)(_duration)

    @validator("touchpoints")
    def _known_kinds(cls, kinds: Dict[str, TouchpointKind]) -> Dict[str, TouchpointKind]:
        for name, kind in kinds.items():
            if kind.not_before is not None and kind.not_before not in kinds:
                raise ValueError(f'"{kind.not_before}" is not a touchpoint kind ({name}.not_before; '
                                 f"known: {', '.join(kinds)})")
        return kinds

    @validator("timezone")
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'"{value}" is not a known time zone (e.g. Europe/Lisbon)') from None
        return value

    @property
    def anchors(self) -> Mapping[str, Any]:
        return self._anchors

    def time_from(self, anchors: Mapping[str, Any]) -> None:
        """Time the kinds with `anchors` (by name): what `load_settings` does once, with the plugins'."""
        self._anchors = dict(anchors)

    def flow_of(self, name: str) -> str:
        """The flow a touchpoint kind starts (its own name unless `flow:` says otherwise)."""
        kind = self.touchpoints.get(name)
        return (kind.flow if kind else None) or name


CASE_REASONS = ("product_problem", "delivery_problem", "return_refund", "human", "low_score")


class BusinessHours(_Model):
    """When the SLA clock runs: `days` (names) from `start` to `end` in `timezone`
    (schedule.timezone when not given)."""

    days: List[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    start: time = time(9, 0)
    end: time = time(17, 0)
    timezone: Optional[str] = None

    _t = validator("start", "end", pre=True, allow_reuse=True)(_clock_time)

    @validator("days", pre=True, each_item=True)
    def _day(cls, value: Any) -> str:
        text = str(value).strip().lower()
        day = next((d for d in WEEKDAYS if len(text) >= 3 and d.startswith(text)), None)
        if day is None:
            raise ValueError(f'"{value}" is not a day of the week (e.g. mon)')
        return day

    @validator("end")
    def _after_start(cls, end: time, values: dict) -> time:
        if "start" in values and end <= values["start"]:
            raise ValueError(f"end {end:%H:%M} must be after start {values['start']:%H:%M}")
        return end

    @validator("timezone")
    def _zone(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f'"{value}" is not a known time zone (e.g. Europe/Lisbon)') from None
        return value

    def add_minutes(self, start: datetime, minutes: float, zone: str = "UTC") -> datetime:
        """`start` plus `minutes` counted only inside these hours (`zone` unless they name one)."""
        tz = ZoneInfo(self.timezone or zone)
        at = start.astimezone(tz)
        left = timedelta(minutes=minutes)
        for _ in range(3700):        # ten years of days; one open day a week ends far sooner
            opens = at.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
            closes = at.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
            if WEEKDAYS[at.weekday()] in self.days and at < closes:
                begin = max(at, opens)
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
            at = (at + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise ValueError("business hours with no open day")


class GoodwillSettings(_Model):
    """Goodwill codes agents give from the case card: at most `per_week` a week (Monday to
    Sunday, UTC), each `prefix` + a random part, worth `value` (shown to the agent)."""

    per_week: int = Field(default=10, ge=0)
    prefix: str = "SORRY-"
    value: str = "10% off the next order"


class EscalationSettings(_Model):
    support_channel: str = "#support"
    sla_minutes: int = Field(default=30, gt=0)
    # per escalation reason, minutes (of business hours, when set) to a first reply
    sla_by_reason: Dict[str, int] = Field(default_factory=dict)
    business_hours: Optional[BusinessHours] = None       # None: the SLA clock runs around the clock
    sla_warning: float = Field(default=0.75, gt=0, lt=1)  # warn in the thread at this share of the SLA
    mention_group: Optional[str] = None
    agents: List[str] = Field(default_factory=list)
    saved_replies: str = "saved_replies.yml"             # beside config.yml; agents pick them on the card
    tracking_url: Optional[str] = None                   # {order_id} -> the carrier's page, for saved replies
    goodwill: GoodwillSettings = GoodwillSettings()

    @validator("sla_by_reason")
    def _reasons(cls, value: Dict[str, int]) -> Dict[str, int]:
        for reason, minutes in value.items():
            if reason not in CASE_REASONS:
                raise ValueError(f'"{reason}" is not an escalation reason ({", ".join(CASE_REASONS)})')
            if not isinstance(minutes, int) or minutes <= 0:
                raise ValueError(f"{reason}: {minutes!r} is not a number of minutes above 0")
        return value

    def sla_minutes_for(self, reason: str) -> int:
        return self.sla_by_reason.get(reason, self.sla_minutes)

    def sla_due(self, reason: str, start: datetime, zone: str = "UTC", share: float = 1.0) -> datetime:
        """When `share` of the SLA for `reason`, counted from `start`, is used up: minutes of
        business hours when they are set, else of the whole day."""
        minutes = self.sla_minutes_for(reason) * share
        if self.business_hours is None:
            return start + timedelta(minutes=minutes)
        return self.business_hours.add_minutes(start, minutes, zone)


class ReviewSettings(_Model):
    default_url: Optional[str] = None
    skus: Dict[str, str] = Field(default_factory=dict)

    def url_for(self, sku: str) -> Optional[str]:
        """The review link for a SKU: its own, else the default template, else none."""
        template = self.skus.get(sku) or self.default_url
        return template.replace("{sku}", sku) if template else None


class UpsellOffer(_Model):
    offer: str
    url: str


class Replenishment(_Model):
    usage_days: int = Field(default=..., gt=0)
    url: str
    offer: Optional[str] = None


class UpsellSettings(_Model):
    skus: Dict[str, UpsellOffer] = Field(default_factory=dict)
    replenishment: Dict[str, Replenishment] = Field(default_factory=dict)


class MilestoneSettings(_Model):
    """What a milestone (a touchpoint kind running a milestone flow) gives: per kind, a gift code,
    or a template whose `{code}` becomes a code of the customer's own (recorded per customer)."""

    gift_codes: Dict[str, str] = Field(default_factory=dict)      # touchpoint kind -> code or template

    def code_for(self, kind: str, customer_ref: str, key: bytes) -> Optional[str]:
        """The gift code this customer gets at milestone `kind` (a template's `{code}` made with
        `key`, bot/base/codes.py), or None when none is configured."""
        template = self.gift_codes.get(kind)
        if not template:
            return None
        return template.replace("{code}", personal_code(key, f"gift:{kind}", customer_ref)) if "{code}" in template \
            else template


class ReferralSettings(_Model):
    """The ask to promoters (NPS 9-10, or CSAT 5 with no open case), once per customer."""

    url: Optional[str] = None        # a personal referral link, e.g. https://shop.example/r/{code}; none: no link
    testimonials: bool = True        # also invite a testimonial in one sentence (stored, shown in the report)
    # Keys the personal codes (referral codes, milestone gift codes' {code}: bot/base/codes.py), so no
    # one can work out another customer's code; unset: the install's own, kept beside the store.
    secret: Optional[SecretStr] = None

    @validator("url")
    def _has_code(cls, value: Optional[str]) -> Optional[str]:
        if value and "{code}" not in value:
            raise ValueError(f'"{value}" has no {{code}} (the customer\'s referral code goes there)')
        return value

    @validator("secret")
    def _long_enough(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("shorter than 16 characters: too easy to guess (use a long random string)")
        return value

    def link_for(self, code: str) -> Optional[str]:
        return self.url.replace("{code}", code) if self.url else None


class LanguageSettings(_Model):
    """Which languages customers are answered in (catalogs in dialogs/i18n/)."""

    default: str = "en"
    enabled: List[str] = Field(default_factory=lambda: ["en"])

    @validator("enabled", each_item=True)
    def _tag(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z]{2})?", value or ""):
            raise ValueError("a language is a tag like en, es or pt-BR")
        return value

    @root_validator(skip_on_failure=True)
    def _default_enabled(cls, values: dict) -> dict:
        if values["default"] not in values["enabled"]:
            raise ValueError(f"default language {values['default']!r} is not in `enabled`")
        return values


class NluSettings(_Model):
    model_dir: str = "models"
    confidence_threshold: float = Field(default=0.55, ge=0, le=1)
    language: str = "en"
    # Languages the model was trained on. Free text in any other language (Japanese) is never
    # guessed at: it gets "tap a button, or write STOP / a person will help" instead.
    languages: List[str] = Field(default_factory=lambda: ["en"])
    pipeline: List[Dict[str, Any]] = Field(default_factory=list)
    # Per-language settings merged into that language's copy of the pipeline, e.g.
    # {fr: {DIETClassifier: {epochs: 80}}}: language -> component name -> its keys.
    overrides: Dict[str, Dict[str, Dict[str, Any]]] = Field(default_factory=dict)
    # The shared NLU service (`aftercare nlu serve`) to ask instead of loading the models in
    # this process: http://127.0.0.1:PORT or unix:/path/to/socket. Unset: models in process.
    url: Optional[str] = None
    timeout: float = Field(default=10.0, gt=0)    # seconds per request to the service
    wait: float = Field(default=30.0, gt=0)       # seconds of retries before a message waits for redelivery

    @validator("url")
    def _service_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith("unix:"):
            if not value[len("unix:"):].removeprefix("//").startswith("/"):
                raise ValueError("a UNIX socket is unix:/absolute/path")
            return value
        if not re.fullmatch(r"http://(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}/?", value):
            raise ValueError("the NLU service is http://127.0.0.1:PORT (loopback: it has no authentication) "
                             "or unix:/path/to/socket")
        return value

    @validator("overrides")
    def _overrides_known(cls, overrides: dict, values: dict) -> dict:
        if "pipeline" not in values or "languages" not in values:   # already reported
            return overrides
        for language, components in overrides.items():
            # a language left out of nlu.languages keeps its tuning, unused, for when it returns
            if not re.fullmatch(r"[a-z]{2,3}", language):
                raise ValueError(f"overrides.{language}: a trained language is a base tag like fr or de")
            for component, keys in components.items():
                place = f"overrides.{language}.{component}"
                found = [step for step in values["pipeline"] if step.get("name") == component]
                if len(found) != 1:
                    raise ValueError(f"{place}: {'no' if not found else len(found)} pipeline steps "
                                     f"named {component!r}; name exactly one")
                if "name" in keys:
                    raise ValueError(f"{place}.name: a component's name cannot be overridden")
        return overrides


class ServerSettings(_Model):
    """The one HTTP server of `aftercare run`: /healthz and the order webhooks."""

    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)          # 0: any free port


class WebhookSettings(_Model):
    """Orders pushed by a shop system (docs/going-live.md registers them)."""

    shopify_secret: Optional[SecretStr] = None       # the Shopify app's client secret
    orders_secret: Optional[SecretStr] = None        # signs our own POST /webhooks/orders
    tolerance: timedelta = timedelta(minutes=5)      # X-Aftercare-Signature's timestamp window
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    shopify_channel: Optional[str] = None            # channel of a Shopify order that names none
                                                     # (None: the first one an order may name)

    _d = validator("tolerance", pre=True, allow_reuse=True)(_duration)


class DelaySettings(_Model):
    """The delay notice (a touchpoint kind timed `from: late`): its second time and its code."""

    renotify_after: timedelta = timedelta(days=3)    # a second delay: not sooner than this after the first
    goodwill_code: Dict[str, str] = Field(default_factory=dict)   # category (or "default") -> code

    _d = validator("renotify_after", pre=True, allow_reuse=True)(_duration)

    def code_for(self, category: str) -> Optional[str]:
        """The goodwill code for a category: its own, else the default, else none."""
        return self.goodwill_code.get(category) or self.goodwill_code.get("default")




class PrivacySettings(_Model):
    # Customers' own words (messages, free-text answers, case words, thread posts quoting them)
    # older than this are erased once a day by the running bot. None (or "off") keeps them.
    free_text_retention: Optional[timedelta] = None

    @validator("free_text_retention", pre=True)
    def _retention(cls, value: Any) -> Optional[timedelta]:
        if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("", "off", "never")):
            return None
        duration = parse_duration(value)
        if duration < timedelta(days=1):
            raise ValueError(f'"{value}" is shorter than a day: words of conversations still going on '
                             'would be erased (use e.g. 180d, or off)')
        return duration


class DigestSettings(_Model):
    """The weekly digest in the support channel, at `day` `hour`:00 in schedule.timezone."""

    enabled: bool = True
    day: str = "monday"
    hour: int = Field(default=9, ge=0, le=23)
    # where the shop publishes `aftercare report --html` (the digest links to it); none: the command
    report_url: Optional[str] = None

    @validator("day", pre=True)
    def _day(cls, value: Any) -> str:
        text = str(value).strip().lower()
        day = next((d for d in WEEKDAYS if len(text) >= 3 and d.startswith(text)), None)
        if day is None:
            raise ValueError(f'"{value}" is not a day of the week (e.g. monday)')
        return day


class Settings(_Model):
    """The whole bot's configuration."""

    store: StoreSettings = StoreSettings()
    dialogs_dir: str = "dialogs"
    # A shop's own flow words: Python modules (dotted names, or .py files beside config.yml),
    # each with a `register(vocabulary)` that adds actions, guards, conditions or variables.
    vocabulary: List[str] = Field(default_factory=list)
    channels: ChannelSections = ChannelSections()
    schedule: ScheduleSettings = ScheduleSettings()
    escalation: EscalationSettings = EscalationSettings()
    reviews: ReviewSettings = ReviewSettings()
    upsell: UpsellSettings = UpsellSettings()
    faq: Dict[str, str] = Field(default_factory=dict)
    nlu: NluSettings = NluSettings()
    server: ServerSettings = ServerSettings()
    webhooks: WebhookSettings = WebhookSettings()
    delays: DelaySettings = DelaySettings()
    milestones: MilestoneSettings = MilestoneSettings()
    referrals: ReferralSettings = ReferralSettings()
    privacy: PrivacySettings = PrivacySettings()
    digest: DigestSettings = DigestSettings()
    languages: LanguageSettings = LanguageSettings()
    config_path: Path = Path("config.yml")

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        path = Path(relative)
        return path if path.is_absolute() else self.config_path.parent / path


# ---- loading --------------------------------------------------------------------------

def settings_model(channels: ChannelModels) -> type[Settings]:
    """`Settings` whose `channels:` holds exactly these channels' sections, each its own model:
    built after the plugins are loaded, so a new channel's section needs no edit here."""
    fields: dict[str, Any] = {name: (model, model()) for name, model in channels.items()}
    sections = create_model("ChannelsSettings", __base__=_Model, **fields)
    return create_model("Settings", __base__=Settings, channels=(sections, sections()))


def settings_from(doc: YamlDoc, environ: Mapping[str, str],
                  overrides: Optional[Mapping[str, Any]] = None, *,
                  channels: Optional[ChannelModels] = None, anchors: Optional[Mapping[str, Any]] = None) -> Settings:
    """config.yml as read (bot/config/loading.py reads it): substitute ${ENV} references from
    `environ`, validate. Raises ConfigError(file, line, reason). `channels`: each channel's
    section model (the plugins' channels); without them a section is validated when its channel
    reads it. `anchors`: the touchpoint anchors by name (the plugins'); without them a kind may
    be timed from the built-ins (`Anchor`) only."""
    path = doc.path
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(path, 1, "the top level must be a mapping of sections")
    model = Settings if channels is None else settings_model(channels)
    literal = _literal_secret(model, data, [])
    if literal:
        raise ConfigError(path, doc.line_of(literal), f"{'.'.join(map(str, literal))}: a secret is never written in "
                          "the file; reference an environment variable instead, e.g. ${" + "_".join(map(str, literal[-2:])).upper() + "}")
    data = _substitute_env(data, environ)
    data.pop("config_path", None)
    if overrides:
        data = _deep_merge(data, overrides)
    weak = weak_secret(model, data, [])
    if weak:
        where, reason = weak
        raise ConfigError(path, doc.line_of(where), f"{'.'.join(map(str, where))}: {reason}")
    known = list(anchors) if anchors is not None else [anchor.value for anchor in Anchor]
    unknown = _unknown_anchor(data, known)
    if unknown:
        where, value = unknown
        raise ConfigError(path, doc.line_of(where), f"{'.'.join(map(str, where))}: {value!r}: not a touchpoint "
                          f"anchor (known: {', '.join(known)})")
    try:
        settings = model(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [part for part in first["loc"] if part != "__root__"]
        dotted = ".".join(str(part) for part in loc)
        value = _lookup(data, loc)
        msg = first["msg"]
        if first["type"] == "value_error.extra":
            msg = "unknown key"
        elif value is not None and not msg.startswith('"') and not _is_secret(model, loc):
            msg = f"{value!r}: {msg}"
        raise ConfigError(path, doc.line_of(loc), f"{dotted}: {msg}") from None
    if anchors is not None:
        settings.schedule.time_from(anchors)
    return settings.copy(update={"config_path": path})


def _unknown_anchor(data: Mapping[str, Any], known: Sequence[str]) -> Optional[tuple[list, Any]]:
    """(key path, value) of the first `from:` naming no known anchor."""
    schedule = data.get("schedule")
    kinds = schedule.get("touchpoints") if isinstance(schedule, dict) else None
    for name, kind in (kinds.items() if isinstance(kinds, dict) else ()):
        value = kind.get("from", kind.get("anchor")) if isinstance(kind, dict) else None
        if value is not None and str(value) not in known:
            return ["schedule", "touchpoints", name, "from" if "from" in kind else "anchor"], value
    return None


def _literal_secret(model: Any, data: Any, where: list) -> Optional[list]:
    """The key path of the first secret field whose value is written out instead of ${NAME}."""
    if not isinstance(data, dict):
        return None
    for name, model_field in model.__fields__.items():
        if name not in data or model_field.shape != SHAPE_SINGLETON:
            continue
        value = data[name]
        if model_field.type_ is SecretStr:
            if isinstance(value, str) and value.strip() and "${" not in value:
                return where + [name]
        elif isinstance(model_field.type_, type) and issubclass(model_field.type_, BaseModel):
            found = _literal_secret(model_field.type_, value, where + [name])
            if found:
                return found
    return None


# Credentials a platform issues (checked by its API at start: getMe, auth.test) need only be
# there; every other secret is a key we sign or verify with, which must be hard to guess.
PLATFORM_TOKENS = frozenset({"token", "bot_token", "app_token"})
MIN_SECRET_CHARS = 16


def weak_secret(model: Any, data: Any, where: list) -> Optional[tuple[list, str]]:
    """The key path of the first secret that is set but empty, or (a signing key) too short,
    with the reason; never the value. An empty key would make every signature check pass for
    anyone who signs with the empty string."""
    if not isinstance(data, dict):
        return None
    for name, model_field in model.__fields__.items():
        key = model_field.alias if model_field.alias in data else name
        if key not in data or model_field.shape != SHAPE_SINGLETON:
            continue
        value = data[key]
        if model_field.type_ is SecretStr and isinstance(value, str):
            if not value.strip():
                return where + [key], ("is set but empty (an empty environment variable): unset it to turn "
                                       "this off, or set the real secret")
            if name not in PLATFORM_TOKENS and len(value.strip()) < MIN_SECRET_CHARS:
                return where + [key], (f"shorter than {MIN_SECRET_CHARS} characters: too easy to guess "
                                       "(use a long random string, e.g. `openssl rand -hex 32`)")
        elif isinstance(model_field.type_, type) and issubclass(model_field.type_, BaseModel):
            found = weak_secret(model_field.type_, value, where + [key])
            if found:
                return found
    return None


def _is_secret(model: Any, loc: list) -> bool:
    """Whether the key path `loc` names a secret field (whose value an error must never show)."""
    for name in loc:
        field = getattr(model, "__fields__", {}).get(name)
        if field is None:
            return False
        model = field.type_
    return model is SecretStr


def _substitute_env(node: Any, environ: Mapping[str, str]) -> Any:
    """Replace ${NAME} / ${NAME:-default}; a lone reference to an unset variable becomes None."""
    if isinstance(node, dict):
        return {key: _substitute_env(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute_env(value, environ) for value in node]
    if isinstance(node, str) and "${" in node:
        whole = _ENV_REF.fullmatch(node.strip())
        if whole and whole.group(1) not in environ and whole.group(2) is None:
            return None
        return _ENV_REF.sub(lambda m: environ.get(m.group(1), m.group(2) or ""), node)
    return node


def _deep_merge(base: dict, extra: Mapping[str, Any]) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _lookup(data: Any, loc: list) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data
