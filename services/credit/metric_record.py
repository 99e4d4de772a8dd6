"""The scoring record of a firm-month metric row: what batch scoring reads, in 64 fixed bytes.

Batch scoring reads every metric row of a platform's window (about 20 a firm). Read as columns,
SQLite spent three quarters of that read formatting numbers for the driver (callgrind, 5,000
firms: 978 M instructions; the same rows as stored records, 232 M). So each firm_month_metric row
also keeps its scoring figures as one little-endian record, written with the row by every writer
(ingest's metrics.apply, the generator's loader, the migration that added it), and a chunk's
records come back as one byte string that numpy reads without per-row work.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

# firm id, month number (year x 12 + month), currency (ASCII, NUL-padded), sales, refunds,
# chargebacks, top-buyer sales (minor units), distinct buyers, repeat buyers, active-day mask.
RECORD = struct.Struct("<qi4sqqqqiiI4x")
DTYPE = np.dtype(
    {
        "names": [
            "firm_id",
            "month",
            "currency",
            "sales",
            "refunds",
            "chargebacks",
            "top_buyer_sales",
            "distinct_buyers",
            "repeat_buyers",
            "active_day_mask",
        ],
        "formats": ["<i8", "<i4", "S4", "<i8", "<i8", "<i8", "<i8", "<i4", "<i4", "<u4"],
        "offsets": [0, 8, 12, 16, 24, 32, 40, 48, 52, 56],
        "itemsize": RECORD.size,
    }
)


# Record field -> the firm_month_metric column it copies, in pack's order after the key.
FIELD_COLUMNS = {
    "sales": "sales_minor",
    "refunds": "refund_minor",
    "chargebacks": "chargeback_minor",
    "top_buyer_sales": "top_buyer_sales_minor",
    "distinct_buyers": "distinct_buyers",
    "repeat_buyers": "repeat_buyers",
    "active_day_mask": "active_day_mask",
}


def month_number(month: str) -> int:
    """'YYYY-MM' as year x 12 + month."""
    return int(month[:4]) * 12 + int(month[5:7])


def pack(
    firm_id: int,
    month: str,
    currency: str,
    sales_minor: int,
    refund_minor: int,
    chargeback_minor: int,
    top_buyer_sales_minor: int,
    distinct_buyers: int,
    repeat_buyers: int,
    active_day_mask: int,
) -> bytes:
    """The record of one metric row."""
    return RECORD.pack(
        firm_id,
        month_number(month),
        currency.encode("ascii"),
        sales_minor,
        refund_minor,
        chargeback_minor,
        top_buyer_sales_minor,
        distinct_buyers,
        repeat_buyers,
        active_day_mask,
    )


def pack_columns(row: Mapping[str, Any]) -> bytes:
    """The record of a metric row given by column name (columns left out count as 0)."""
    return pack(
        row["firm_id"],
        row["month"],
        row["currency"],
        *(int(row.get(column) or 0) for column in FIELD_COLUMNS.values()),
    )


def unpack(records: bytes) -> np.ndarray:
    """Concatenated records as a structured array of DTYPE (no copy)."""
    if len(records) % RECORD.size:
        raise ValueError(
            f"{len(records)} bytes of metric records is not a whole number of "
            f"{RECORD.size}-byte records"
        )
    return np.frombuffer(records, dtype=DTYPE)
