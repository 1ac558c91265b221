"""Slack customers imported with an email get their user id from one lookup."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.conversation.identities import resolve_emails
from bot.store.store import Store

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


async def test_email_is_resolved_once_and_binds_the_address() -> None:
    store = Store.memory()
    found = store.customers.upsert("c1", "Bea", "bea@b2b.example", None, "en", NOW)
    missing = store.customers.upsert("c2", "Cy", "cy@b2b.example", None, "en", NOW)
    found_identity = store.customers.ensure_identity(found, "slack", None, True, NOW, "import")
    missing_identity = store.customers.ensure_identity(missing, "slack", None, True, NOW, "import")
    calls: list[str] = []

    async def lookup(email: str):
        calls.append(email)
        return "U0BEA" if email.startswith("bea") else None

    assert await resolve_emails(store, lookup, NOW, "slack") == 1
    assert store.customers.identity(found_identity).address == "U0BEA"
    assert store.customers.identity(missing_identity).address is None
    assert await resolve_emails(store, lookup, NOW, "slack") == 0
    assert sorted(calls) == ["bea@b2b.example", "cy@b2b.example"]          # each tried once
    assert any(e.action == "link" for e in store.customers.ledger(found))
