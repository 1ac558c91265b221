"""The SQL of referrals and milestone gifts: the referral code each promoter was given (one per
customer, ever: what makes the ask once-only), the gift code each milestone gave to whom, and
whether a customer had trouble lately (what keeps milestones away)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlite_utils import Database

from bot.base.clock import iso
from bot.store import tables
from bot.store.rows import GiftCode, ReferralCode


class Referrals:
    def __init__(self, db: Database) -> None:
        self.db = db

    def give(self, customer_id: int, code: str, link: Optional[str], conversation_id: Optional[int],
             now: datetime) -> bool:
        """Record that the customer was asked (with `code`, and the link when one was sent);
        False when they had been asked before (the first record stays)."""
        cursor = self.db.execute(
            "insert or ignore into referral_codes (code, customer_id, conversation_id, link, given_at) "
            "values (?, ?, ?, ?, ?)", [code, customer_id, conversation_id, link, iso(now)])
        return cursor.rowcount == 1

    def asked(self, customer_id: int) -> bool:
        return self.db.execute("select 1 from referral_codes where customer_id = ?",
                               [customer_id]).fetchone() is not None

    def of_customer(self, customer_id: int) -> Optional[ReferralCode]:
        rows = tables.query(self.db, "select * from referral_codes where customer_id = ?", [customer_id])
        return ReferralCode.from_row(rows[0]) if rows else None

    def referred_orders(self, customer_id: int) -> list[str]:
        """Orders of other customers placed with this customer's referral code."""
        return [r[0] for r in self.db.execute(
            "select o.order_id from orders o join referral_codes r on r.code = o.referral_code "
            "where r.customer_id = ? and o.customer_id != r.customer_id order by o.purchased_at",
            [customer_id]).fetchall()]

    def counts(self) -> tuple[int, int]:
        """(customers asked, orders placed with another customer's code), over the whole store."""
        asked = self.db.execute("select count(*) from referral_codes").fetchone()[0]
        referred = self.db.execute("select count(*) from orders o join referral_codes r on r.code = o.referral_code "
                                   "and o.customer_id != r.customer_id").fetchone()[0]
        return asked, referred

    def give_gift(self, customer_id: int, kind: str, code: str, conversation_id: Optional[int],
                  now: datetime) -> bool:
        """Record the gift code milestone `kind` gave this customer; False when it already had."""
        cursor = self.db.execute(
            "insert or ignore into gift_codes (customer_id, kind, code, conversation_id, given_at) "
            "values (?, ?, ?, ?, ?)", [customer_id, kind, code, conversation_id, iso(now)])
        return cursor.rowcount == 1

    def gifts(self, customer_id: Optional[int] = None) -> list[GiftCode]:
        """Gift codes given (to one customer, or to everyone), oldest first."""
        if customer_id is None:
            rows = tables.where(self.db, "gift_codes", order_by="id")
        else:
            rows = tables.where(self.db, "gift_codes", "customer_id = ?", [customer_id], order_by="id")
        return [GiftCode.from_row(r) for r in rows]

    def trouble_since(self, customer_id: int, since: datetime) -> bool:
        """A low score (CSAT <= 3, NPS <= 6) given, or a case opened, at or after `since`."""
        row = self.db.execute(
            "select exists(select 1 from responses where customer_id = :c and at >= :since and score is not null "
            "              and ((metric = 'csat' and score <= 3) or (metric = 'nps' and score <= 6))) "
            "    or exists(select 1 from escalations where customer_id = :c and opened_at >= :since)",
            {"c": customer_id, "since": iso(since)}).fetchone()
        return bool(row and row[0])
