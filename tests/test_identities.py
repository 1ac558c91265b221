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
    assert any(e.action == "address_found" for e in store.customers.ledger(found))


async def test_an_email_from_order_data_binds_the_address_but_grants_no_consent() -> None:
    """The order file said no consent (or the customer sent STOP): finding their chat by the
    order's email changes neither (#24: order data never grants consent)."""
    store = Store.memory()
    quiet = store.customers.upsert("c1", "Bea", "bea@b2b.example", None, "en", NOW)
    stopped = store.customers.upsert("c2", "Cy", "cy@b2b.example", None, "en", NOW)
    quiet_identity = store.customers.ensure_identity(quiet, "slack", None, False, NOW, "import")
    stopped_identity = store.customers.ensure_identity(stopped, "slack", None, True, NOW, "import")
    store.customers.opt_out(stopped_identity, NOW, "slack:STOP")

    async def lookup(email: str):
        return "U0BEA" if email.startswith("bea") else "U0CY"

    assert await resolve_emails(store, lookup, NOW, "slack") == 2
    bea, cy = store.customers.identity(quiet_identity), store.customers.identity(stopped_identity)
    assert (bea.address, bea.consent, bea.contactable) == ("U0BEA", False, False)
    assert (cy.address, cy.opted_out, cy.contactable) == ("U0CY", True, False)
