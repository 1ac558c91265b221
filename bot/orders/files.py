"""Order files (CSV, JSON) -> validated line items, each with the line it came from.

A shop's export is never perfect: one bad row must not cost the other thousand, and the person
fixing the file needs the line and the reason. So bad rows become `RowError`s and are skipped,
good rows become `OrderRow`s; only a file we cannot read at all raises `OrderFileError`.
Pure: no SQL, no clock. The store does the upsert (`aftercare orders import`).

One row per line item; several rows may share an order_id. Columns (CSV header, or the keys
of each JSON object; JSON is a list of objects or {"orders": [...]}): see `COLUMNS`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, TextIO, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.channels.registry import ChannelRegistry
from bot.schedule.touchpoints import STATUSES, OrderFacts
from bot.base.yamlsource import SourceError

REQUIRED = ("order_id", "customer_ref", "channel", "product", "sku", "category", "purchased_at")
COLUMNS = ("order_id", "customer_ref", "customer_name", "email", "channel", "address",
           "timezone", "language", "product", "sku", "category", "quantity", "price",
           "purchased_at", "shipped_at", "delivered_at", "status", "consent", "expected_at",
           "shipment_status", "referral_code")
SUFFIXES = (".csv", ".json")

_YES = frozenset({"yes", "true", "1"})
_NO = frozenset({"no", "false", "0"})
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?")
_JSON_SPACE = " \t\n\r"
_SHIPMENT_STATUS = re.compile(r"[a-z][a-z_]{0,39}")
_REFERRAL_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SURROGATE = re.compile("[\ud800-\udfff]")
YEARS = (1970, 2199)           # the dates an order can plausibly carry


class OrderFileError(SourceError):
    """The file as a whole cannot be imported (unreadable, unknown type, missing columns)."""

    def __init__(self, path: Union[Path, str], reason: str, line: Optional[int] = None) -> None:
        super().__init__(path, line, reason)


@dataclass(frozen=True)
class OrderRow:
    """One valid line item; datetimes are aware UTC, `line` is where it starts in the file."""

    line: int
    order_id: str
    customer_ref: str
    channel: str
    product: str
    sku: str
    category: str
    purchased_at: datetime
    quantity: int = 1
    customer_name: Optional[str] = None
    email: Optional[str] = None
    address: Optional[str] = None
    timezone: Optional[str] = None
    language: Optional[str] = None        # unknown: the platform's, else the shop's default
    price: Optional[Decimal] = None
    shipped_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    status: str = "placed"
    consent: bool = True
    expected_at: Optional[datetime] = None      # the carrier's delivery estimate
    shipment_status: Optional[str] = None       # the carrier's latest word (in_transit, ...)
    referral_code: Optional[str] = None         # a promoter's code the order was placed with (referrals)

    def record(self) -> dict[str, Any]:
        """The row in our JSON order shape (what `orders import` and POST /webhooks/orders read)."""
        when = {name: _iso(getattr(self, name)) for name in ("purchased_at", "shipped_at", "delivered_at",
                                                             "expected_at")}
        return {
            "order_id": self.order_id, "customer_ref": self.customer_ref, "customer_name": self.customer_name,
            "email": self.email, "channel": self.channel, "address": self.address, "timezone": self.timezone,
            "language": self.language, "product": self.product, "sku": self.sku, "category": self.category,
            "quantity": self.quantity, "price": str(self.price) if self.price is not None else None, **when,
            "shipment_status": self.shipment_status, "status": self.status, "consent": self.consent,
            "referral_code": self.referral_code,
        }

    def facts(self) -> OrderFacts:
        """The part of the row the scheduler needs."""
        return OrderFacts(self.order_id, self.sku, self.category, self.quantity,
                          self.purchased_at, self.shipped_at, self.delivered_at, self.status,
                          self.expected_at)


@dataclass(frozen=True)
class RowError:
    """A row that was skipped, and why, in words a shop can act on."""

    line: int
    reason: str


Parsed = Union[OrderRow, RowError]


# ---- files --------------------------------------------------------------------------------

def read_orders(path: Union[Path, str], channels: Optional[ChannelRegistry] = None) -> tuple[list[OrderRow], list[RowError]]:
    """All good rows and all row errors of a .csv or .json file, in file order. `channels`: the
    channels an order may name (the plugins'; the built-ins when None)."""
    rows: list[OrderRow] = []
    errors: list[RowError] = []
    for item in iter_orders(path, channels):
        if isinstance(item, OrderRow):
            rows.append(item)
        else:
            errors.append(item)
    return rows, errors


def iter_orders(path: Union[Path, str], channels: Optional[ChannelRegistry] = None) -> Iterator[Parsed]:
    """Like `read_orders`, one row at a time: a CSV of a million orders streams."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise OrderFileError(path, f'unknown file type "{path.suffix}" (use .csv or .json)')
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            if suffix == ".csv":
                yield from _checked(_csv_records(handle, path), channels)
            else:
                yield from _checked(_json_records(handle.read(), path), channels)
    except OSError as exc:
        raise OrderFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise OrderFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def parse_orders(text: str, fmt: str, source: str = "<orders>",
                 channels: Optional[ChannelRegistry] = None) -> tuple[list[OrderRow], list[RowError]]:
    """The same as `read_orders` for text already in memory (a webhook body): fmt csv|json."""
    if fmt == "csv":
        records = _csv_records(io.StringIO(text, newline=""), source)
    elif fmt == "json":
        records = _json_records(text, source)
    else:
        raise OrderFileError(source, f'unknown format "{fmt}" (use csv or json)')
    rows: list[OrderRow] = []
    errors: list[RowError] = []
    for item in _checked(records, channels):
        if isinstance(item, OrderRow):
            rows.append(item)
        else:
            errors.append(item)
    return rows, errors


# ---- CSV ----------------------------------------------------------------------------------

def _csv_records(handle: TextIO, source: Union[Path, str]) -> Iterator[tuple[int, Any]]:
    """(line, {column: value}) per non-blank record; line = where the record starts."""
    reader = csv.reader(handle)
    header = _csv_header(next(reader, None), source)
    end = reader.line_num
    for fields in reader:
        line, end = end + 1, reader.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) > len(header):
            yield line, RowError(line, f"has {len(fields)} fields, the header has {len(header)}")
            continue
        yield line, {name: value for name, value in zip(header, fields) if name}


def _csv_header(fields: Optional[list[str]], source: Union[Path, str]) -> list[str]:
    """Normalized column names; raises when a required one is missing or one repeats."""
    if not fields or not any(field.strip() for field in fields):
        raise OrderFileError(source, "empty file: no header line", line=1)
    header = [field.strip().lower() for field in fields]
    for name in header:
        if name and header.count(name) > 1:
            raise OrderFileError(source, f'column "{name}" appears twice', line=1)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise OrderFileError(source, f"missing column{'s' if len(missing) > 1 else ''}: "
                                     f"{', '.join(missing)}", line=1)
    return header


# ---- JSON ---------------------------------------------------------------------------------

def _json_records(text: str, source: Union[Path, str]) -> Iterator[tuple[int, Any]]:
    """(line, object) per element of the orders array; line = where the element starts."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise OrderFileError(source, f"invalid JSON: {exc.msg}", line=exc.lineno) from exc
    except RecursionError:
        raise OrderFileError(source, "invalid JSON: nested too deeply") from None
    start = _skip_space(text, 0)
    if isinstance(doc, list):
        array_at = start
    elif isinstance(doc, dict) and isinstance(doc.get("orders"), list):
        array_at = _member_at(text, start, "orders", decoder)
    else:
        raise OrderFileError(source, 'expected a list of orders or {"orders": [...]}')
    for offset, item in _array_items(text, array_at, decoder):
        yield text.count("\n", 0, offset) + 1, item


def _member_at(text: str, pos: int, wanted: str, decoder: json.JSONDecoder) -> int:
    """Offset of the value of `wanted` in the object at `pos` (the last one, as json does)."""
    found = -1
    pos = _skip_space(text, pos + 1)
    while text[pos] != "}":
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip_space(text, _skip_space(text, pos) + 1)  # past ':'
        if key == wanted:
            found = pos
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        if text[pos] == ",":
            pos = _skip_space(text, pos + 1)
    return found


def _array_items(text: str, pos: int, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any]]:
    """(offset, value) of each element of the array at `pos` (already known to be valid)."""
    pos = _skip_space(text, pos + 1)
    while text[pos] != "]":
        item, end = decoder.raw_decode(text, pos)
        yield pos, item
        pos = _skip_space(text, end)
        if text[pos] == ",":
            pos = _skip_space(text, pos + 1)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _JSON_SPACE:
        pos += 1
    return pos


# ---- rows ---------------------------------------------------------------------------------

def _checked(records: Iterable[tuple[int, Any]], channels: Optional[ChannelRegistry] = None) -> Iterator[Parsed]:
    """Parse each record, then the checks that span rows: duplicates, one customer per order."""
    seen_items: dict[tuple[str, str], int] = {}
    seen_orders: dict[str, OrderRow] = {}
    for line, raw in records:
        item = raw if isinstance(raw, RowError) else parse_row(raw, line, channels)
        if isinstance(item, OrderRow):
            item = _against_earlier(item, seen_items, seen_orders)
        yield item


def _against_earlier(row: OrderRow, seen_items: dict[tuple[str, str], int],
                     seen_orders: dict[str, OrderRow]) -> Parsed:
    """A line item may appear once; the line items of one order share customer and channel."""
    first = seen_items.get((row.order_id, row.sku))
    if first is not None:
        return RowError(row.line, f'duplicate line item: order_id "{row.order_id}" with sku '
                                  f'"{row.sku}" is already on line {first}')
    earlier = seen_orders.get(row.order_id)
    if earlier is not None:
        for name in ("customer_ref", "channel"):
            if getattr(row, name) != getattr(earlier, name):
                return RowError(row.line, f'{name}: "{getattr(row, name)}" differs from '
                                          f'"{getattr(earlier, name)}" for the same order_id '
                                          f'on line {earlier.line}')
    seen_items[(row.order_id, row.sku)] = row.line
    seen_orders.setdefault(row.order_id, row)
    return row


def parse_row(raw: Any, line: int, channels: Optional[ChannelRegistry] = None) -> Parsed:
    """One record (column -> value) -> an OrderRow, or a RowError naming every problem."""
    if not isinstance(raw, Mapping):
        return RowError(line, f"not an object: {type(raw).__name__}")
    fields = _Fields(raw, channels if channels is not None else ChannelRegistry())
    row = fields.build(line)
    if row is None or fields.problems:
        return RowError(line, "; ".join(fields.problems))
    return row


class _Fields:
    """Reads one record's fields, collecting problems instead of stopping at the first."""

    def __init__(self, raw: Mapping[Any, Any], channels: ChannelRegistry) -> None:
        self.channels = channels
        self.values: dict[str, Optional[str]] = {}
        self.problems: list[str] = []
        self.refused: set[str] = set()
        for key, value in raw.items():
            name = str(key).strip().lower()
            try:
                self.values[name] = _scalar(value)
            except TypeError as exc:
                self.refused.add(name)
                self.problems.append(f"{name}: {exc}" if isinstance(value, str)
                                     else f"{name}: must be a single value, not {type(value).__name__}")

    def build(self, line: int) -> Optional[OrderRow]:
        """Every column parsed in file order (so reasons read left to right); None if any is bad."""
        parsed: dict[str, Any] = {}
        for name in COLUMNS:
            parse = (_address_parser(self.channels, parsed["channel"]) if name == "address"
                     else _channel_parser(self.channels) if name == "channel" else _PARSERS[name])
            read = self.required if name in REQUIRED else self.optional
            parsed[name] = read(name, parse)
        when: dict[str, Any] = {name: parsed.pop(name) for name in ("purchased_at", "shipped_at", "delivered_at")}
        expected = parsed.pop("expected_at")
        self.check_sequence(*when.items())
        self.check_sequence(("shipped_at", when["shipped_at"]), ("expected_at", expected))
        if self.problems:
            return None
        _fill_defaults(parsed, when)
        times: dict[str, Any] = {name: _at(value) for name, value in when.items()}
        return OrderRow(line=line, **parsed, **times, expected_at=_at(expected))

    def required(self, name: str, parse: Callable[[str], Any] = str) -> Any:
        """The parsed value, or None with "missing <name>" noted."""
        if self.values.get(name) is None:
            if name not in self.refused:
                self.problems.append(f"missing {name}")
            return None
        return self.optional(name, parse)

    def optional(self, name: str, parse: Callable[[str], Any] = str) -> Any:
        """The parsed value, None when absent or bad (a bad one is noted)."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return parse(value)
        except _Invalid as exc:
            self.problems.append(f"{name}: {exc}")
            return None

    def check_sequence(self, *moments: tuple[str, Optional[tuple[datetime, bool]]]) -> None:
        """Purchase <= shipping <= delivery; a bare date compares by day."""
        known = [(name, when) for name, when in moments if when is not None]
        for (early, first), (late, second) in zip(known, known[1:]):
            if _before(second, first):
                self.problems.append(f'{late}: "{self.values[late]}" is before '
                                     f'{early} "{self.values[early]}"')


class _Invalid(ValueError):
    """A field's value is wrong; the message is the reason shown after "<field>: "."""


def _scalar(value: Any) -> Optional[str]:
    """JSON or CSV value -> stripped text or None; lists and objects are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, str):
        if _SURROGATE.search(value):         # JSON's "\ud800": text no store or platform can hold
            raise TypeError("text with a lone surrogate (not valid Unicode)")
        return value.strip() or None
    raise TypeError(type(value).__name__)


def _parse_when(value: str) -> tuple[datetime, bool]:
    """ISO date or datetime -> (aware UTC, was it a bare date); naive means UTC."""
    try:
        if _DATE_ONLY.fullmatch(value):
            day = date.fromisoformat(value)
            if not YEARS[0] <= day.year <= YEARS[1]:
                raise _Invalid(f'"{value}" is not a plausible date (years {YEARS[0]}-{YEARS[1]})')
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc), True
        text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(timezone.utc)
    except _Invalid:
        raise
    except (ValueError, OverflowError):            # 0001-01-01T00:00+05:00 has no UTC
        raise _Invalid(f'"{value}" is not a date') from None
    if not YEARS[0] <= moment.year <= YEARS[1]:   # schedules add days and weeks: 9999-12-31 overflows
        raise _Invalid(f'"{value}" is not a plausible date (years {YEARS[0]}-{YEARS[1]})')
    return moment, False


def parse_moment(value: str) -> datetime:
    """An ISO date or datetime as the importer reads it (aware UTC); ValueError says why not."""
    return _parse_when(value)[0]


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment is not None else None


def _at(when: Optional[tuple[datetime, bool]]) -> Optional[datetime]:
    return None if when is None else when[0]


def _before(later: tuple[datetime, bool], earlier: tuple[datetime, bool]) -> bool:
    if later[1] or earlier[1]:
        return later[0].date() < earlier[0].date()
    return later[0] < earlier[0]


def _channel_parser(channels: ChannelRegistry) -> Callable[[str], str]:
    names = channels.names(importable=True)

    def parse(value: str) -> str:
        if value.lower() not in names:
            raise _Invalid(f'"{value}" is not a channel ({" or ".join(names)})')
        return value.lower()
    return parse


def _address_parser(channels: ChannelRegistry, channel: Optional[str]) -> Callable[[str], str]:
    """Each channel declares what its addresses look like (a chat id, a user id...)."""
    spec = channels.get(channel) if channel else None

    def parse(value: str) -> str:
        problem = spec.check_address(value) if spec is not None else None
        if problem:
            raise _Invalid(problem)
        return value
    return parse


def _quantity(value: str) -> int:
    if not re.fullmatch(r"\+?\d+", value) or int(value) < 1:
        raise _Invalid("must be a whole number >= 1")
    return int(value)


def _price(value: str) -> Decimal:
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise _Invalid(f'"{value}" is not a number') from None
    if not price.is_finite() or price < 0:
        raise _Invalid(f'"{value}" must be a number >= 0')
    return price


def _zone(value: str) -> str:
    if not _known_zone(value):
        raise _Invalid(f'"{value}" is not a known time zone (e.g. Europe/Lisbon)')
    return value


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    """Memoized: ZoneInfo's own cache holds only a few zones, and a big file repeats them."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise _Invalid(f'"{value}" is not a language code (e.g. en, pt-BR)')
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise _Invalid(f'"{value}" is not an email address')
    return value


def _status(value: str) -> str:
    if value.lower() not in STATUSES:
        raise _Invalid(f'"{value}" is not a status ({", ".join(STATUSES)})')
    return value.lower()


def _shipment_status(value: str) -> str:
    if not _SHIPMENT_STATUS.fullmatch(value.lower()):
        raise _Invalid(f'"{value}" is not a shipment status (a word like in_transit)')
    return value.lower()


def _referral_code(value: str) -> str:
    if not _REFERRAL_CODE.fullmatch(value):
        raise _Invalid(f'"{value}" is not a referral code (letters, digits, - and _, at most 64)')
    return value.upper()


def _consent(value: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise _Invalid(f'"{value}" is not yes or no')


def _fill_defaults(parsed: dict[str, Any], when: Mapping[str, Any]) -> None:
    """Absent optional columns: one item, consent given, status from the dates. An absent
    language stays unknown, so the platform's language or the shop's default can apply."""
    defaults = {"quantity": 1, "consent": True,
                "status": "delivered" if when["delivered_at"] else
                          "shipped" if when["shipped_at"] else "placed"}
    for name, value in defaults.items():
        if parsed[name] is None:
            parsed[name] = value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "order_id": str, "customer_ref": str, "customer_name": str, "email": _email,
    "timezone": _zone, "language": _language, "product": str, "sku": str,
    "category": str, "quantity": _quantity, "price": _price, "purchased_at": _parse_when,
    "shipped_at": _parse_when, "delivered_at": _parse_when, "status": _status,
    "consent": _consent, "expected_at": _parse_when, "shipment_status": _shipment_status,
    "referral_code": _referral_code,
}
