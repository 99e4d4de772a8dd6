"""Validate one raw transaction row into a storable tuple, or say which field is wrong and why.

This is the hot path of ingest (millions of rows a run): the common shapes of every field go
through cheap exact checks, and only unusual input falls back to the slower general parsers,
which are also the ones that word the rejection reasons.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from services.credit.ingest.localtime import LocalCalendar
from services.credit.reference import currency_minor_units

TXN_TYPES = frozenset({"sale", "refund", "chargeback", "payout", "fee"})
MAX_REF_LEN = 128
TEXT_LIMITS = {"order_ref": 128, "channel": 32, "category": 64, "refund_of": 128}
# One event of a small firm never comes near this; it keeps minor units inside BIGINT.
MAX_AMOUNT = Decimal(10) ** 12
EARLIEST_YEAR = 1990
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,18}))?")
_POW10 = [10**i for i in range(19)]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# HMAC pads: every key byte XOR 0x36 (inner) and 0x5C (outer).
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
# Positions in a stored row tuple (the column order of writer.RAW_COLUMNS).
(
    COL_PLATFORM,
    COL_FIRM,
    COL_TXN_ID,
    COL_TYPE,
    COL_OCCURRED,
    COL_MONTH,
    COL_DAY,
    COL_AMOUNT,
    COL_CURRENCY,
    COL_ORDER,
    COL_BUYER,
    COL_CHANNEL,
    COL_CATEGORY,
    COL_REFUND_OF,
    COL_INGESTED,
) = range(15)
StoredRow = tuple[Any, ...]


class RowError(Exception):
    """A row that cannot be stored: the field at fault and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class RawTxn(msgspec.Struct, gc=False):
    """One transaction as a platform sent it, before any check: each field may be missing
    (None) or of any JSON type. NDJSON lines decode straight into it (parsers.py); CSV rows and
    JSON array items are copied into it. Not tracked by the garbage collector: it holds only
    JSON values, which cannot form cycles."""

    firm_ref: Any = None
    txn_id: Any = None
    type: Any = None
    occurred_at: Any = None
    amount: Any = None
    currency: Any = None
    order_ref: Any = None
    buyer_ref: Any = None
    channel: Any = None
    category: Any = None
    refund_of: Any = None

    @classmethod
    def from_mapping(cls, row: dict[str, Any]) -> RawTxn:
        """The transaction fields of a JSON object or CSV row (other keys are ignored)."""
        get = row.get
        return cls(
            get("firm_ref"),
            get("txn_id"),
            get("type"),
            get("occurred_at"),
            get("amount"),
            get("currency"),
            get("order_ref"),
            get("buyer_ref"),
            get("channel"),
            get("category"),
            get("refund_of"),
        )


RAW_FIELDS = frozenset(RawTxn.__struct_fields__)


def text_field(row: RawTxn, field: str, max_len: int, required: bool = False) -> str | None:
    """An optional (or required) short printable string; numbers are taken as their text."""
    value = getattr(row, field)
    if value is None or value == "":
        if required:
            raise RowError(field, "is required")
        return None
    if type(value) is not str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise RowError(field, f"must be a string, not {type(value).__name__}")
    if len(value) > max_len:
        raise RowError(field, f"is longer than {max_len} characters")
    if not value.isprintable():
        raise RowError(field, "contains control characters")
    return value


def parse_amount(value: Any, decimals: int, currency: str) -> int:
    """Amount in minor units: a positive, finite decimal with at most the currency's decimals."""
    if type(value) is str:
        # The usual shape first: ASCII digits with exactly the currency's decimals.
        whole, _, frac = value.partition(".")
        if (
            frac
            and len(frac) == decimals
            and 0 < len(whole) <= 12
            and value.isascii()
            and whole.isdigit()
            and frac.isdigit()
        ):
            minor = int(whole + frac)
            if minor:
                return minor
        plain = _PLAIN_AMOUNT.fullmatch(value)
        if plain is not None:
            whole, frac = plain.groups()
            if frac is not None and len(frac) > decimals:
                # Trailing zeros add no precision: "10.50" is a valid CNY amount, "10.505" is not.
                frac = frac.rstrip("0")
                if len(frac) > decimals:
                    raise RowError("amount", f"{currency} allows at most {decimals} decimals")
            minor = int(whole) * _POW10[decimals] + (int(frac.ljust(decimals, "0")) if frac else 0)
            if minor == 0:
                raise RowError("amount", "must be greater than zero (the type says the direction)")
            return minor
    return _parse_amount_slow(value, decimals, currency)


def _parse_amount_slow(value: Any, decimals: int, currency: str) -> int:
    if isinstance(value, bool) or value is None or value == "":
        raise RowError("amount", "is required and must be a decimal number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowError("amount", "must be finite (NaN and Infinity are not amounts)")
        value = repr(value)
    elif not isinstance(value, str | int):
        raise RowError("amount", f"must be a decimal number, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 40:
        raise RowError("amount", "is not a decimal number")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError("amount", f"{text[:40]!r} is not a decimal number") from None
    if not amount.is_finite():
        raise RowError("amount", "must be finite (NaN and Infinity are not amounts)")
    if amount <= 0:
        raise RowError("amount", "must be greater than zero (the type says the direction)")
    if amount >= MAX_AMOUNT:
        raise RowError("amount", f"must be less than {MAX_AMOUNT:,}")
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise RowError("amount", f"{currency} allows at most {decimals} decimals")
    return int(scaled)


def parse_occurred_at(value: Any, now: datetime, tolerance: timedelta) -> datetime:
    """An RFC 3339 timestamp with an explicit offset, after 1990, not in the future."""
    if type(value) is not str or not value:
        raise RowError("occurred_at", "is required as an RFC 3339 timestamp with offset")
    if len(value) > 40:
        raise RowError("occurred_at", f"{value[:40]!r}... is not an RFC 3339 timestamp")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise RowError("occurred_at", f"{value!r} is not an RFC 3339 timestamp") from None
    if ts.tzinfo is None and len(value) >= 19 and value[10] in "Tt ":
        raise RowError("occurred_at", "needs an offset (+08:00 or Z); a local time is ambiguous")
    if len(value) < 20 or value[4] != "-" or value[10] not in "Tt ":
        raise RowError(
            "occurred_at", f"{value!r} is not an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss)"
        )
    if ts.tzinfo is None:
        raise RowError(
            "occurred_at", "needs an offset (e.g. +08:00 or Z); local times are ambiguous"
        )
    if ts - now > tolerance:
        raise RowError("occurred_at", f"is in the future (more than {tolerance} ahead of now)")
    if ts.year < EARLIEST_YEAR:
        raise RowError("occurred_at", f"is before {EARLIEST_YEAR}")
    return ts


class BuyerHasher:
    """Keyed pseudonyms of buyer references: HMAC-SHA256 (RFC 2104), 128 bits, in hex.

    The key's inner and outer pads are hashed once; each buyer then costs two copies of those
    states and two short updates, under half the work of the hmac module's own copy().
    """

    BLOCK = 64  # SHA-256's block size in bytes

    def __init__(self, key: bytes) -> None:
        if len(key) > self.BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self.BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __call__(self, buyer_ref: str) -> str:
        """The buyer's pseudonym (the same as hmac.new(key, ref, sha256), cut to 32 hex)."""
        inner = self._inner.copy()
        inner.update(buyer_ref.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:32]


class RowCleaner:
    """Validates rows for one platform and one upload; caches what repeats (buyers, days)."""

    # About 200 bytes an entry: 50,000 keep a worker's cache near 10 MB, and still hold every
    # regular buyer of the firms a few blocks have in hand (one-off buyers never hit anyway).
    BUYER_CACHE_MAX = 50_000

    def __init__(
        self, platform_org_id: str, buyer_key: bytes, now: datetime, tolerance: timedelta
    ) -> None:
        self.platform_org_id = platform_org_id
        self.buyer_key = buyer_key
        self._hash_buyer = BuyerHasher(buyer_key)
        self.tolerance = tolerance
        self.set_now(now)
        self.minor_units = currency_minor_units()
        self._buyers: dict[str, str] = {}

    def set_now(self, now: datetime) -> None:
        """The clock rows are checked against (future timestamps) and stamped with on ingest."""
        self.now = now
        self.latest = now + self.tolerance
        # Whole seconds since 1970, rounded down: a whole-second instant is at most `latest`
        # exactly when it is at most this.
        self.latest_epoch = int((self.latest - _EPOCH).total_seconds() // 1)
        self.ingested_at = now.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def _buyer(self, ref: str) -> str:
        cached = self._buyers.get(ref)
        if cached is None:
            if len(self._buyers) >= self.BUYER_CACHE_MAX:
                self._buyers.clear()
            cached = self._buyers[ref] = self._hash_buyer(ref)
        return cached

    def clean(self, row: RawTxn, firm_id: int, calendar: LocalCalendar) -> StoredRow:
        """A valid row as the tuple the writer stores; raise RowError naming the field at fault."""
        txn_id = row.txn_id
        if (
            type(txn_id) is not str
            or not 0 < len(txn_id) <= MAX_REF_LEN
            or not txn_id.isprintable()
        ):
            txn_id = text_field(row, "txn_id", MAX_REF_LEN, required=True)
        txn_type = row.type
        if type(txn_type) is not str or txn_type not in TXN_TYPES:
            raise RowError("type", f"must be one of {', '.join(sorted(TXN_TYPES))}")
        currency = row.currency
        decimals = self.minor_units.get(currency) if type(currency) is str else None
        if decimals is None:
            raise RowError("currency", f"{str(currency)[:10]!r} is not a supported ISO 4217 code")
        amount_minor = parse_amount(row.amount, decimals, currency)
        occurred: Any = row.occurred_at
        placed = (
            calendar.place_known_hour(occurred, self.latest_epoch)
            if type(occurred) is str
            else None
        )
        if placed is None:
            try:
                ts = datetime.fromisoformat(occurred)
                fast = ts.tzinfo is not None and len(occurred) >= 20 and occurred[10] in "Tt"
            except (TypeError, ValueError):
                fast = False
            if not fast or ts > self.latest or ts.year < EARLIEST_YEAR:
                ts = parse_occurred_at(occurred, self.now, self.tolerance)
            placed = calendar.place_text(occurred, ts)
        utc_text, month, day = placed
        buyer_ref = row.buyer_ref
        if buyer_ref is not None:
            if (
                type(buyer_ref) is not str
                or len(buyer_ref) > MAX_REF_LEN
                or not buyer_ref.isprintable()
            ):
                buyer_ref = text_field(row, "buyer_ref", MAX_REF_LEN)
            buyer = self._buyer(buyer_ref) if buyer_ref else None
        else:
            buyer = None
        order_ref = row.order_ref
        channel = row.channel
        category = row.category
        refund_of = row.refund_of
        # One cheap test for the usual case; the full check words the reason when it fails.
        for value in (order_ref, channel, category, refund_of):
            if value is not None and (
                type(value) is not str or not 0 < len(value) <= 32 or not value.isprintable()
            ):
                order_ref = text_field(row, "order_ref", TEXT_LIMITS["order_ref"])
                channel = text_field(row, "channel", TEXT_LIMITS["channel"])
                category = text_field(row, "category", TEXT_LIMITS["category"])
                refund_of = text_field(row, "refund_of", TEXT_LIMITS["refund_of"])
                break
        return (
            self.platform_org_id,
            firm_id,
            txn_id,
            txn_type,
            utc_text,
            month,
            day,
            amount_minor,
            currency,
            order_ref,
            buyer,
            channel,
            category,
            refund_of,
            self.ingested_at,
        )
