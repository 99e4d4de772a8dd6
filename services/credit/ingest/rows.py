"""Validate one raw transaction row into a normalised row, or say which field is wrong and why."""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from services.credit.reference import currency_minor_units

TXN_TYPES = frozenset({"sale", "refund", "chargeback", "payout", "fee"})
MAX_REF_LEN = 128
# One event of a small firm never comes near this; it keeps minor units inside BIGINT.
MAX_AMOUNT = Decimal(10) ** 12


class RowError(Exception):
    """A row that cannot be stored: the field at fault and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class CleanRow:
    """A validated transaction, ready to store (firm resolved by the caller)."""

    txn_id: str
    type: str
    occurred_at: datetime
    amount_minor: int
    currency: str
    order_ref: str | None
    buyer_hash: str | None
    channel: str | None
    category: str | None
    refund_of: str | None
    local_month: str = ""
    local_day: int = 0
    firm_id: int = 0
    content_hash: str = ""


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """A cached time zone."""
    return ZoneInfo(name)


def _text(row: dict[str, Any], field: str, max_len: int, required: bool = False) -> str | None:
    value = row.get(field)
    if value is None or value == "":
        if required:
            raise RowError(field, "is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RowError(field, "must be a string")
    if len(value) > max_len:
        raise RowError(field, f"is longer than {max_len} characters")
    if not value.isprintable():
        raise RowError(field, "contains control characters")
    return value


def parse_amount(value: Any, currency: str) -> int:
    """Amount in minor units: a positive, finite decimal with at most the currency's decimals."""
    if isinstance(value, bool) or value is None or value == "":
        raise RowError("amount", "is required and must be a decimal number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowError("amount", "must be finite")
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowError("amount", f"{str(value)[:40]!r} is not a decimal number") from None
    if not amount.is_finite():
        raise RowError("amount", "must be finite (NaN and Infinity are not amounts)")
    if amount <= 0:
        raise RowError("amount", "must be greater than zero (the type says the direction)")
    if amount >= MAX_AMOUNT:
        raise RowError("amount", "is too large")
    decimals = currency_minor_units()[currency]
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise RowError("amount", f"{currency} allows at most {decimals} decimals")
    return int(scaled)


def parse_occurred_at(value: Any, now: datetime, tolerance: timedelta) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, not in the future beyond the tolerance."""
    if not isinstance(value, str) or not value:
        raise RowError("occurred_at", "is required as an RFC 3339 timestamp with offset")
    if len(value) > 40:
        raise RowError("occurred_at", "is not an RFC 3339 timestamp")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise RowError("occurred_at", f"{value!r} is not an RFC 3339 timestamp") from None
    if ts.tzinfo is None or "T" not in value.upper():
        raise RowError("occurred_at", "needs a date, a time and an offset (e.g. +08:00 or Z)")
    if ts - now > tolerance:
        raise RowError("occurred_at", "is in the future")
    if ts.year < 1990:
        raise RowError("occurred_at", "is before 1990")
    return ts


def buyer_hash(buyer_ref: str, key: bytes) -> str:
    """Keyed pseudonym of a buyer reference (HMAC-SHA256, 128 bits, hex)."""
    return hmac.new(key, buyer_ref.encode(), hashlib.sha256).hexdigest()[:32]


def clean_row(row: Any, *, now: datetime, tolerance: timedelta, buyer_key: bytes) -> CleanRow:
    """Validate one row; raise RowError naming the first field at fault."""
    if not isinstance(row, dict):
        raise RowError("", "row must be a JSON object")
    txn_id = _text(row, "txn_id", MAX_REF_LEN, required=True)
    assert txn_id is not None
    txn_type = row.get("type")
    if txn_type not in TXN_TYPES:
        raise RowError("type", f"must be one of {', '.join(sorted(TXN_TYPES))}")
    currency = row.get("currency")
    if not isinstance(currency, str) or currency not in currency_minor_units():
        raise RowError("currency", f"{str(currency)[:10]!r} is not a supported ISO 4217 code")
    amount_minor = parse_amount(row.get("amount"), currency)
    occurred_at = parse_occurred_at(row.get("occurred_at"), now, tolerance)
    buyer_ref = _text(row, "buyer_ref", MAX_REF_LEN)
    return CleanRow(
        txn_id=txn_id,
        type=txn_type,
        occurred_at=occurred_at,
        amount_minor=amount_minor,
        currency=currency,
        order_ref=_text(row, "order_ref", 128),
        buyer_hash=buyer_hash(buyer_ref, buyer_key) if buyer_ref else None,
        channel=_text(row, "channel", 32),
        category=_text(row, "category", 64),
        refund_of=_text(row, "refund_of", 128),
    )


def localise(row: CleanRow, firm_id: int, tz_name: str) -> None:
    """Attach the firm, its local month and day, and the content hash used to spot conflicts."""
    local = row.occurred_at.astimezone(zone(tz_name))
    row.firm_id = firm_id
    row.local_month = f"{local.year:04d}-{local.month:02d}"
    row.local_day = local.day
    utc_ts = int(row.occurred_at.timestamp() * 1_000_000)
    canonical = "|".join(
        (
            str(firm_id),
            row.type,
            str(utc_ts),
            str(row.amount_minor),
            row.currency,
            row.order_ref or "",
            row.buyer_hash or "",
            row.channel or "",
            row.category or "",
            row.refund_of or "",
        )
    )
    row.content_hash = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
