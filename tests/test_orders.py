"""Order files: good rows kept, bad rows reported with their line and reason, CSV and JSON."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config.loading import load_settings
from bot.orders.files import (
    COLUMNS,
    OrderFileError,
    OrderRow,
    RowError,
    iter_orders,
    parse_orders,
    parse_row,
    read_orders,
)
from bot.schedule.touchpoints import OrderFacts, touchpoints_for

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_orders.csv"
BAD = ROOT / "tests" / "data" / "bad_orders.csv"
HEADER = ",".join(COLUMNS)


def good(**changes) -> dict:
    row = {"order_id": "A-1", "customer_ref": "C-1", "channel": "telegram",
           "product": "Trail Runner 2 shoes", "sku": "TR2-44", "category": "footwear",
           "purchased_at": "2026-11-01T10:00:00Z"}
    row.update(changes)
    return row


def csv_text(*rows: dict) -> str:
    lines = [HEADER]
    for row in rows:
        lines.append(",".join(str(row.get(name, "")) for name in COLUMNS))
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_error(raw: dict) -> str:
    result = parse_row(raw, 7)
    assert isinstance(result, RowError), result
    assert result.line == 7
    return result.reason


# ---- the shipped files ------------------------------------------------------------------

def test_sample_file_parses_without_errors():
    rows, errors = read_orders(SAMPLE)
    assert errors == []
    assert len({row.order_id for row in rows}) == 20
    assert len(rows) == 22                                  # two orders with two line items
    assert {row.channel for row in rows} == {"telegram", "slack"}
    assert {row.category for row in rows} >= {"footwear", "electronics", "skincare", "home",
                                              "apparel"}
    assert {row.timezone for row in rows} >= {"Europe/Lisbon", "America/New_York", "Asia/Tokyo"}
    statuses = {row.order_id: row.status for row in rows}
    assert list(statuses.values()).count("cancelled") == 1
    shipped = [oid for oid, status in statuses.items() if status == "shipped"]
    assert len(shipped) == 1
    assert any(row.sku == "SERUM-30" and row.category == "skincare" for row in rows)
    assert {row.product for row in rows if row.sku == "TR2-44"} == {"Trail Runner 2 shoes"}
    assert [row.line for row in rows] == list(range(2, 24))


def test_sample_file_schedules(tmp_path):
    settings = load_settings(ROOT / "config.yml", environ={})    # the shipped touchpoint kinds
    rows, _ = read_orders(SAMPLE)
    for row in rows:
        points = touchpoints_for(row.facts(), settings.schedule, settings.upsell.replenishment)
        if row.status == "cancelled":
            assert points == []
        elif row.status == "placed":
            assert [p.kind for p in points if p.kind != "anniversary"] == ["thank_you"]   # + a first order's
        else:
            assert "checkin" in {p.kind for p in points}


def test_bad_file_reports_each_row_with_line_and_reason():
    rows, errors = read_orders(BAD)
    assert [(row.line, row.order_id) for row in rows] == [(2, "B-1"), (13, "B-9")]
    assert errors == [
        RowError(3, "missing order_id"),
        RowError(4, 'delivered_at: "2026-13-01" is not a date'),
        # line 5 is blank: skipped, still counted
        RowError(6, "quantity: must be a whole number >= 1"),
        RowError(7, 'channel: "whatsapp" is not a channel (telegram or slack)'),
        RowError(8, 'timezone: "Mars/Olympus" is not a known time zone (e.g. Europe/Lisbon)'),
        RowError(9, 'delivered_at: "2026-11-02T10:00:00Z" is before purchased_at '
                    '"2026-11-10T10:00:00Z"'),
        RowError(10, 'duplicate line item: order_id "B-1" with sku "TR2-44" is already on '
                     'line 2'),
        # a quoted name spanning lines 11-12: the row starts on 11, the next on 13
        RowError(11, 'price: "-1" must be a number >= 0; consent: "maybe" is not yes or no'),
    ]


def test_bad_file_good_rows_are_typed():
    rows, _ = read_orders(BAD)
    b9 = rows[1]
    assert b9.purchased_at == datetime(2026, 11, 1, tzinfo=UTC)           # a bare date: 00:00 UTC
    assert b9.shipped_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert b9.status == "shipped" and b9.consent is False
    assert b9.price == Decimal("44.00") and b9.quantity == 1
    assert b9.address == "U09GOODTOO" and b9.timezone == "America/New_York"


# ---- fields -----------------------------------------------------------------------------

def test_minimal_row_gets_defaults():
    row = parse_row(good(), 2)
    assert row == OrderRow(line=2, order_id="A-1", customer_ref="C-1", channel="telegram",
                           product="Trail Runner 2 shoes", sku="TR2-44", category="footwear",
                           purchased_at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    assert (row.quantity, row.language, row.status, row.consent) == (1, None, "placed", True)   # an unknown language stays unknown
    assert row.price is None and row.address is None and row.timezone is None


@pytest.mark.parametrize("dates, status", [
    ({}, "placed"),
    ({"shipped_at": "2026-11-02"}, "shipped"),
    ({"shipped_at": "2026-11-02", "delivered_at": "2026-11-05"}, "delivered"),
    ({"delivered_at": "2026-11-05"}, "delivered"),
    ({"delivered_at": "2026-11-05", "status": "Returned"}, "returned"),
    ({"status": "cancelled"}, "cancelled"),
])
def test_status_defaults_from_the_dates(dates, status):
    assert parse_row(good(**dates), 2).status == status


@pytest.mark.parametrize("value, expected", [
    ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
    ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),          # naive = UTC
    ("2026-11-01 10:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
    ("2026-11-01T10:00:00+09:00", datetime(2026, 11, 1, 1, 0, tzinfo=UTC)),
    ("2026-11-01T10:00:00.250-05:00", datetime(2026, 11, 1, 15, 0, 0, 250000, tzinfo=UTC)),
    ("2026-11-01", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
])
def test_dates_become_aware_utc(value, expected):
    row = parse_row(good(purchased_at=value), 2)
    assert row.purchased_at == expected and row.purchased_at.tzinfo is UTC


@pytest.mark.parametrize("field, value, reason", [
    ("purchased_at", "yesterday", 'purchased_at: "yesterday" is not a date'),
    ("shipped_at", "2026-02-30", 'shipped_at: "2026-02-30" is not a date'),
    ("delivered_at", "2026-13-01", 'delivered_at: "2026-13-01" is not a date'),
    ("quantity", "0", "quantity: must be a whole number >= 1"),
    ("quantity", "1.5", "quantity: must be a whole number >= 1"),
    ("quantity", "two", "quantity: must be a whole number >= 1"),
    ("price", "abc", 'price: "abc" is not a number'),
    ("price", "-0.01", 'price: "-0.01" must be a number >= 0'),
    ("price", "NaN", 'price: "NaN" must be a number >= 0'),
    ("channel", "WhatsApp", 'channel: "WhatsApp" is not a channel (telegram or slack)'),
    ("timezone", "Europe/Atlantis", 'timezone: "Europe/Atlantis" is not a known time zone '
                                    '(e.g. Europe/Lisbon)'),
    ("timezone", "../../etc/passwd", 'timezone: "../../etc/passwd" is not a known time zone '
                                     '(e.g. Europe/Lisbon)'),
    ("status", "lost", 'status: "lost" is not a status (placed, shipped, delivered, '
                       'cancelled, returned)'),
    ("consent", "maybe", 'consent: "maybe" is not yes or no'),
    ("email", "ana-at-example", 'email: "ana-at-example" is not an email address'),
    ("language", "english please", 'language: "english please" is not a language code '
                                   '(e.g. en, pt-BR)'),
    ("address", "@ana", 'address: "@ana" is not a Telegram chat id (a number)'),
])
def test_field_reasons(field, value, reason):
    assert one_error(good(**{field: value})) == reason


@pytest.mark.parametrize("field", ["order_id", "customer_ref", "channel", "product", "sku",
                                   "category", "purchased_at"])
def test_required_fields(field):
    assert one_error(good(**{field: "  "})) == f"missing {field}"
    raw = good()
    del raw[field]
    assert one_error(raw) == f"missing {field}"


def test_every_problem_of_a_row_is_named_in_column_order():
    reason = one_error(good(order_id="", channel="fax", quantity="0", consent="perhaps"))
    assert reason == ('missing order_id; channel: "fax" is not a channel (telegram or slack); '
                      'quantity: must be a whole number >= 1; consent: "perhaps" is not yes or no')


@pytest.mark.parametrize("value, expected", [
    ("yes", True), ("YES", True), ("true", True), ("1", True),
    ("no", False), ("False", False), ("0", False), ("", True),
])
def test_consent_spellings(value, expected):
    assert parse_row(good(consent=value), 2).consent is expected


def test_addresses_per_channel():
    assert parse_row(good(address="512340987"), 2).address == "512340987"
    assert parse_row(good(address="-1001234567890"), 2).address == "-1001234567890"
    assert parse_row(good(channel="Slack", address="U04BENCART"), 2).channel == "slack"
    assert one_error(good(channel="slack", address="ben@example.com")) == \
        'address: "ben@example.com" is not a Slack user id (U... or W...)'
    slack_by_email = parse_row(good(channel="slack", email="ben@example.com"), 2)
    assert slack_by_email.address is None and slack_by_email.email == "ben@example.com"


def test_dates_must_follow_purchase_shipping_delivery():
    assert one_error(good(shipped_at="2026-10-30T10:00:00Z")) == \
        'shipped_at: "2026-10-30T10:00:00Z" is before purchased_at "2026-11-01T10:00:00Z"'
    assert one_error(good(shipped_at="2026-11-05", delivered_at="2026-11-03")) == \
        'delivered_at: "2026-11-03" is before shipped_at "2026-11-05"'
    # a bare date compares by day: delivered the same day it was bought is fine
    same_day = parse_row(good(purchased_at="2026-11-01T18:00:00Z", delivered_at="2026-11-01"), 2)
    assert isinstance(same_day, OrderRow)


def test_facts_for_the_scheduler():
    row = parse_row(good(quantity="2", delivered_at="2026-11-05T09:00:00Z"), 2)
    assert row.facts() == OrderFacts("A-1", "TR2-44", "footwear", 2,
                                     datetime(2026, 11, 1, 10, 0, tzinfo=UTC), None,
                                     datetime(2026, 11, 5, 9, 0, tzinfo=UTC), "delivered")


# ---- CSV --------------------------------------------------------------------------------

def test_csv_header_is_forgiving_about_case_spaces_bom_and_extra_columns(tmp_path):
    text = ("\ufeffOrder_ID , Customer_Ref,CHANNEL,product,sku,category,purchased_at,notes\n"
            "A-1,C-1,telegram,Shoes,TR2-44,footwear,2026-11-01,gift wrap\n")
    rows, errors = read_orders(write(tmp_path, "o.csv", text))
    assert errors == [] and rows[0].order_id == "A-1" and rows[0].line == 2


def test_csv_rows_with_too_many_fields_or_only_blanks(tmp_path):
    text = csv_text(good()) + ",,,,\n" + csv_text(good(order_id="A-2")).split("\n", 1)[1]
    text += "A-3,x,y,z" + "," * len(COLUMNS) + "\n"
    rows, errors = read_orders(write(tmp_path, "o.csv", text))
    assert [row.line for row in rows] == [2, 4]
    assert errors == [RowError(5, f"has {len(COLUMNS) + 4} fields, the header has "
                                  f"{len(COLUMNS)}")]


def test_csv_short_rows_are_padded(tmp_path):
    text = "order_id,customer_ref,channel,product,sku,category,purchased_at,status\n" \
           "A-1,C-1,telegram,Shoes,TR2-44,footwear,2026-11-01\n"
    rows, errors = read_orders(write(tmp_path, "o.csv", text))
    assert errors == [] and rows[0].status == "placed"


def test_csv_windows_line_endings(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(csv_text(good(), good(sku="X-1"), good(sku="")).replace("\n", "\r\n")
                     .encode())
    rows, errors = read_orders(path)
    assert [row.line for row in rows] == [2, 3] and errors == [RowError(4, "missing sku")]


def test_line_items_of_one_order_must_share_customer_and_channel(tmp_path):
    text = csv_text(good(), good(sku="TS-3P", customer_ref="C-2"),
                    good(sku="GCL-150", channel="slack"), good(sku="SERUM-30"))
    rows, errors = read_orders(write(tmp_path, "o.csv", text))
    assert [row.sku for row in rows] == ["TR2-44", "SERUM-30"]
    assert errors == [
        RowError(3, 'customer_ref: "C-2" differs from "C-1" for the same order_id on line 2'),
        RowError(4, 'channel: "slack" differs from "telegram" for the same order_id on line 2'),
    ]


def test_duplicate_after_a_bad_first_row_is_kept(tmp_path):
    """Only kept rows count as 'already there': the later, valid copy is the one imported."""
    text = csv_text(good(quantity="0"), good())
    rows, errors = read_orders(write(tmp_path, "o.csv", text))
    assert [row.line for row in rows] == [3]
    assert errors == [RowError(2, "quantity: must be a whole number >= 1")]


def test_iter_orders_streams(tmp_path):
    path = write(tmp_path, "o.csv", csv_text(good(), good(order_id="")))
    items = iter_orders(path)
    assert isinstance(next(items), OrderRow)
    assert next(items) == RowError(3, "missing order_id")


# ---- JSON -------------------------------------------------------------------------------

def test_json_list_with_line_numbers(tmp_path):
    text = json.dumps([good(), good(order_id="A-2", quantity=3, price=12.5, consent=False),
                       good(order_id="A-3", delivered_at="2026-13-01")], indent=2)
    rows, errors = read_orders(write(tmp_path, "o.json", text))
    lines = text.split("\n")
    assert [row.line for row in rows] == [2, 2 + len(json.dumps(good(), indent=2).split("\n"))]
    assert all(lines[row.line - 1].strip() == "{" for row in rows)
    assert rows[1].quantity == 3 and rows[1].price == Decimal("12.5")
    assert rows[1].consent is False
    assert len(errors) == 1 and lines[errors[0].line - 1].strip() == "{"
    assert errors[0].reason == 'delivered_at: "2026-13-01" is not a date'


def test_json_orders_object_and_compact_lines(tmp_path):
    text = ('{"source": "shopify", "meta": {"orders": "not this"}, "tags": [1, [2]],\n'
            ' "orders": [\n'
            '  {"order_id": 1001, "customer_ref": 7, "channel": "slack", "address": "U1ABC",\n'
            '   "product": "P", "sku": "S", "category": "home", "purchased_at": "2026-11-01"},\n'
            '  {"order_id": 1002},   {"order_id": "1003", "customer_ref": "7",\n'
            '   "channel": "telegram", "product": "P", "sku": "S", "category": "home",\n'
            '   "purchased_at": "2026-11-01", "quantity": 2.0}, 42, "x", null\n'
            ' ]\n'
            '}\n')
    rows, errors = read_orders(write(tmp_path, "o.json", text))
    assert [(row.line, row.order_id, row.customer_ref) for row in rows] == [(3, "1001", "7")]
    assert [error.line for error in errors] == [5, 5, 7, 7, 7]
    assert errors[0].reason.startswith("missing customer_ref; missing channel")
    assert errors[1].reason == "quantity: must be a whole number >= 1"
    assert errors[2:] == [RowError(7, "not an object: int"), RowError(7, "not an object: str"),
                          RowError(7, "not an object: NoneType")]


def test_json_nested_values_are_refused(tmp_path):
    text = json.dumps({"orders": [good(sku=["A", "B"], address={"chat": 1})]})
    rows, errors = read_orders(write(tmp_path, "o.json", text))
    assert rows == []
    assert errors == [RowError(1, "sku: must be a single value, not list; "
                                  "address: must be a single value, not dict")]


def test_json_booleans_and_nulls(tmp_path):
    text = json.dumps([good(consent=True, shipped_at=None, price=None, quantity=None)])
    rows, errors = read_orders(write(tmp_path, "o.json", text))
    assert errors == [] and rows[0].consent is True and rows[0].shipped_at is None


def test_empty_json_list(tmp_path):
    assert read_orders(write(tmp_path, "o.json", "[]")) == ([], [])
    assert read_orders(write(tmp_path, "o.json", '{"orders": []}')) == ([], [])


def test_parse_orders_text_for_webhooks():
    rows, errors = parse_orders(json.dumps([good()]), "json")
    assert len(rows) == 1 and errors == []
    rows, errors = parse_orders(csv_text(good(), good(sku="")), "csv")
    assert len(rows) == 1 and errors == [RowError(3, "missing sku")]
    with pytest.raises(OrderFileError, match="unknown format"):
        parse_orders("", "xml")


# ---- whole-file failures ----------------------------------------------------------------

@pytest.mark.parametrize("name, text, reason, line", [
    ("o.xlsx", "", 'unknown file type ".xlsx" (use .csv or .json)', None),
    ("o.csv", "", "empty file: no header line", 1),
    ("o.csv", "order_id,channel,sku\nA-1,telegram,X\n",
     "missing columns: customer_ref, product, category, purchased_at", 1),
    ("o.csv", HEADER.replace(",product,", ",") + "\n", "missing column: product", 1),
    ("o.csv", HEADER + ",sku\n", 'column "sku" appears twice', 1),
    ("o.json", '[{"order_id": "A-1"},\n {"order_id": }]', "invalid JSON: Expecting value", 2),
    ("o.json", '{"data": []}', 'expected a list of orders or {"orders": [...]}', None),
    ("o.json", '"orders"', 'expected a list of orders or {"orders": [...]}', None),
])
def test_file_errors(tmp_path, name, text, reason, line):
    path = write(tmp_path, name, text)
    with pytest.raises(OrderFileError) as caught:
        read_orders(path)
    assert caught.value.reason == reason
    assert caught.value.line == line
    assert caught.value.path == str(path)


def test_missing_file(tmp_path):
    with pytest.raises(OrderFileError, match="cannot read"):
        read_orders(tmp_path / "nope.csv")


def test_not_utf8(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes((HEADER + "\nA-1,C-1,Jo\xe3o").encode("latin-1"))
    with pytest.raises(OrderFileError, match="not UTF-8"):
        read_orders(path)


def test_suffix_is_case_insensitive(tmp_path):
    rows, errors = read_orders(write(tmp_path, "O.CSV", csv_text(good())))
    assert len(rows) == 1 and errors == []
