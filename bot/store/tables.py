"""Row reads and writes by primary key, as plain SQL.

sqlite-utils' `db[table].get/insert/update/rows_where` look the schema up on every call
(`sqlite_master` for views and tables, `PRAGMA table_info` for the primary key), and
`db.query` wraps each select in a savepoint: about 90 of the 130 statements one customer
reply ran. These helpers run just the statement, with the
same meaning: values jsonified as sqlite-utils does, `NotFoundError` for a missing row. The
tables are the ones `schema.py` creates, so nothing is created on the fly; every table they
are used on has an integer primary key `id`.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping as AnyMapping
from typing import Any, Mapping, Optional, Sequence, Union

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError, jsonify_if_needed

_PLAIN = (str, int, float, type(None))        # stored as they are: no JSON, no isoformat


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _value(value: Any) -> Any:
    """`value` as sqlite-utils stores it (dicts and lists as JSON, dates as ISO text), with
    plain values passed at once (most of them: its checks cost ~1 µs a value)."""
    return value if type(value) in _PLAIN else jsonify_if_needed(value)


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """The insert statement for these columns, quoted once (the store uses a few dozen shapes)."""
    return (f"insert into {_name(table)} ({', '.join(_name(column) for column in columns)}) "
            f"values ({', '.join('?' for _ in columns)})")


@functools.lru_cache(maxsize=256)
def _update_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"update {_name(table)} set {', '.join(f'{_name(column)} = ?' for column in columns)} where id = ?"


def insert(db: Database, table: str, row: Mapping[str, Any]) -> int:
    """Insert one row; its id."""
    cursor = db.execute(_insert_sql(table, tuple(row)), [_value(value) for value in row.values()])
    row_id = cursor.lastrowid
    if row_id is None:
        raise RuntimeError(f"insert into {table} gave no row id")
    return row_id


def get(db: Database, table: str, row_id: Any) -> dict:
    """The row with id `row_id`; `NotFoundError` when there is none."""
    found = where(db, table, "id = ?", [row_id], limit=1)
    if not found:
        raise NotFoundError(f"no row {row_id!r} in {table}")
    return found[0]


def update(db: Database, table: str, row_id: Any, fields: Mapping[str, Any]) -> None:
    """Set `fields` on the row with id `row_id`; `NotFoundError` when there is none."""
    if not fields:
        get(db, table, row_id)
        return
    cursor = db.execute(_update_sql(table, tuple(fields)), [*(_value(value) for value in fields.values()), row_id])
    if cursor.rowcount != 1:
        raise NotFoundError(f"no row {row_id!r} in {table}")


def where(db: Database, table: str, condition: Optional[str] = None, params: Sequence[Any] = (),
          order_by: Optional[str] = None, limit: Optional[int] = None) -> list[dict]:
    """`select *` rows matching `condition`, as dicts."""
    sql = f"select * from {_name(table)}"
    if condition:
        sql += f" where {condition}"
    if order_by:
        sql += f" order by {order_by}"
    if limit is not None:
        sql += f" limit {int(limit)}"
    return query(db, sql, params)


def query(db: Database, sql: str, params: Union[Sequence[Any], Mapping[str, Any]] = ()) -> list[dict]:
    """The rows of a `select`, as dicts (`db.query` without the savepoint it wraps around
    every statement in case it is not a select: two more statements per read)."""
    # collections.abc's Mapping: isinstance against typing's costs ~5 µs a read
    cursor = db.execute(sql, dict(params) if isinstance(params, AnyMapping) else list(params))
    keys = [column[0] for column in cursor.description or ()]
    return [dict(zip(keys, row)) for row in cursor.fetchall()]


def remember_reason(db: Database, table: str, row_id: Any, reason: str) -> None:
    """Add `reason` to the row's `held_reasons` (comma-separated, each once): the history of
    holds that outlives `held_reason`, which is cleared when the row goes out."""
    db.execute(f"update {_name(table)} set held_reasons = case "
               "when held_reasons is null or held_reasons = '' then ? "
               "when ',' || held_reasons || ',' like '%,' || ? || ',%' then held_reasons "
               "else held_reasons || ',' || ? end where id = ?", [reason, reason, reason, row_id])
