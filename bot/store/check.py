"""A whole-database check of the store's invariants, for the fuzz and crash tests (and anyone
who wants to know a database is sound after an incident): `problems(store)` lists every
violation as a sentence naming the table, the row and what is wrong; empty means sound.

Read-only: it never repairs anything.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping, Optional

from bot.base.kinds import CaseStatus, ConversationStatus, OutboxStatus, Owner
from bot.store.store import Store

OUTBOX_STATUSES = {s.value for s in OutboxStatus}
CONVERSATION_STATUSES = {s.value for s in ConversationStatus}
OWNERS = {o.value for o in Owner}
CASE_STATUSES = {s.value for s in CaseStatus}


def problems(store: Store, flow_steps: Optional[Mapping[str, Iterable[str]]] = None) -> list[str]:
    """Every invariant violation in the database. `flow_steps` (flow name -> its step names)
    also checks that each conversation's flow and step exist."""
    found: list[str] = []
    found += _events(store)
    found += _outbox(store)
    found += _opted_out(store)
    found += _conversations(store, {k: set(v) for k, v in (flow_steps or {}).items()})
    found += _cases(store)
    found += _messages(store)
    found += _identities(store)
    return found


def _rows(store: Store, sql: str, params: Iterable[Any] = ()) -> list[dict]:
    return list(store.db.query(sql, list(params)))


def _bad_time(value: Optional[str], required: bool = True) -> bool:
    if value is None:
        return required
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return True
    return False


def _json_kind(value: Optional[str], kind: type) -> bool:
    """True when `value` parses as JSON of type `kind`."""
    try:
        return isinstance(json.loads(value or ("[]" if kind is list else "{}")), kind)
    except ValueError:
        return False


def _events(store: Store) -> list[str]:
    """Each inbound event handled once: (channel, event id) is processed_events' key, so a
    repeat shows where its effect lands: a customer message recorded twice under one event id,
    or recorded with no trace of the event in processed_events."""
    found = [f"processed_events: ({r['channel']}, {r['event_id']}) recorded {r['n']} times"
             for r in _rows(store, "select channel, event_id, count(*) as n from processed_events "
                                   "group by channel, event_id having n > 1")]
    found += [f"messages: event {r['channel']}/{r['event']} was handled {r['n']} times (rows {r['ids']})"
              for r in _rows(store, "select i.channel, m.platform_message_id as event, count(*) as n, "
                                    "group_concat(m.id) as ids from messages m join identities i on i.id = m.identity_id "
                                    "where m.direction = 'in' and m.platform_message_id is not null "
                                    "group by i.channel, m.platform_message_id having n > 1")]
    found += [f"messages row {r['id']}: event {r['channel']}/{r['event']} is not in processed_events"
              for r in _rows(store, "select m.id, i.channel, m.platform_message_id as event from messages m "
                                    "join identities i on i.id = m.identity_id "
                                    "left join processed_events p on p.channel = i.channel "
                                    "and p.event_id = m.platform_message_id where m.direction = 'in' "
                                    "and m.platform_message_id is not null and p.event_id is null")]
    return found


def _outbox(store: Store) -> list[str]:
    found = []
    for row in _rows(store, "select * from outbox"):
        where = f"outbox row {row['id']}"
        status = row["status"]
        if status not in OUTBOX_STATUSES:
            found.append(f"{where}: unknown status {status!r}")
        if status in ("sending", "sent") and (not row["attempts"] or not row["claimed_at"]):
            found.append(f"{where}: {status} without a recorded attempt (attempts={row['attempts']}, "
                         f"claimed_at={row['claimed_at']})")
        if status == "sent" and _bad_time(row["sent_at"]):
            found.append(f"{where}: sent without a valid sent_at ({row['sent_at']!r})")
        if not _json_kind(row["buttons"], list):
            found.append(f"{where}: buttons are not a JSON list: {row['buttons']!r:.80}")
        if not _json_kind(row["payload"], dict):
            found.append(f"{where}: payload is not a JSON object: {row['payload']!r:.80}")
        for column in ("created_at", "not_before"):
            if _bad_time(row[column]):
                found.append(f"{where}: {column} is not a timestamp ({row[column]!r})")
    return found


def _opted_out(store: Store) -> list[str]:
    """Invariant 5: nothing queued to an identity after its opt-out but the confirmation."""
    found = []
    for identity in _rows(store, "select id from identities where opted_out = 1"):
        last = store.db.execute(
            "select action, at from consent_ledger where identity_id = ? and action in ('opt_out', 'opt_in', 'link') "
            "order by id desc limit 1", [identity["id"]]).fetchone()
        if last is None or last[0] != "opt_out":
            found.append(f"identities row {identity['id']}: opted out without an opt-out in the consent ledger")
            continue
        for row in _rows(store, "select id, kind, payload, created_at from outbox where identity_id = ? "
                                "and created_at > ?", [identity["id"], last[1]]):
            payload = json.loads(row["payload"] or "{}") if _json_kind(row["payload"], dict) else {}
            if not payload.get("opt_out_confirmation"):
                found.append(f"outbox row {row['id']}: {row['kind']} to opted-out identity {identity['id']} "
                             f"created at {row['created_at']}, after the opt-out at {last[1]}")
    return found


def _conversations(store: Store, flow_steps: dict[str, set[str]]) -> list[str]:
    found = []
    active_cases = {r["conversation_id"] for r in _rows(
        store, "select conversation_id from escalations where status != 'resolved'")}
    for row in _rows(store, "select * from conversations"):
        where = f"conversations row {row['id']}"
        if row["status"] not in CONVERSATION_STATUSES:
            found.append(f"{where}: unknown status {row['status']!r}")
        if row["owner"] not in OWNERS:
            found.append(f"{where}: unknown owner {row['owner']!r}")
        if not _json_kind(row["slots"], dict):
            found.append(f"{where}: slots are not a JSON object: {row['slots']!r:.80}")
        if row["owner"] == Owner.HUMAN and row["status"] != ConversationStatus.CLOSED and row["id"] not in active_cases:
            found.append(f"{where}: owned by a human but has no open case")
        if row["status"] == "waiting" and _bad_time(row["wake_at"], required=False):
            found.append(f"{where}: wake_at is not a timestamp ({row['wake_at']!r})")
        if flow_steps:
            if row["flow"] not in flow_steps:
                found.append(f"{where}: unknown flow {row['flow']!r}")
            elif row["step"] not in flow_steps[row["flow"]]:
                found.append(f"{where}: flow {row['flow']!r} has no step {row['step']!r}")
    return found


def _cases(store: Store) -> list[str]:
    found = []
    for row in _rows(store, "select * from escalations"):
        where = f"escalations row {row['id']}"
        if row["status"] not in CASE_STATUSES:
            found.append(f"{where}: unknown status {row['status']!r}")
        if row["status"] == "claimed" and (not row["agent"] or _bad_time(row["claimed_at"])):
            found.append(f"{where}: claimed without an agent and a claim time")
        if row["status"] == "resolved" and _bad_time(row["resolved_at"]):
            found.append(f"{where}: resolved without a resolve time")
        if not _json_kind(row["photos"], list):
            found.append(f"{where}: photos are not a JSON list")
    for row in _rows(store, "select conversation_id, count(*) as n from escalations where status != 'resolved' "
                            "group by conversation_id having n > 1"):
        found.append(f"conversations row {row['conversation_id']}: {row['n']} cases open at once")
    return found


def _messages(store: Store) -> list[str]:
    found = [f"messages row {r['id']}: points at outbox row {r['outbox_id']}, which does not exist"
             for r in _rows(store, "select m.id, m.outbox_id from messages m left join outbox o on o.id = m.outbox_id "
                                   "where m.outbox_id is not null and o.id is null")]
    found += [f"messages row {r['id']}: direction {r['direction']!r} is neither in nor out"
              for r in _rows(store, "select id, direction from messages where direction not in ('in', 'out')")]
    return found


def _identities(store: Store) -> list[str]:
    return [f"identities: {r['n']} identities share {r['channel']} address {r['address']!r}"
            for r in _rows(store, "select channel, address, count(*) as n from identities where address is not null "
                                  "group by channel, address having n > 1")]
