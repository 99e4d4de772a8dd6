"""The buyers of a firm's month as one packed value: per buyer its hash, sales and orders.

Distinct buyers, repeat buyers and the top buyer's share need every buyer's running totals,
exactly, across uploads. Kept as one row per buyer they cost more to write than the raw
transactions (a one-off buyer is a row per sale); packed, they are one row per firm, month and
currency. A record is 28 bytes: the buyer's keyed hash (16 bytes), sales in minor units and
orders. Records are in no particular order; a merge reads them into a dict.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RECORD = struct.Struct("<16sqI")
# buyer hash (32 hex digits, as stored on raw rows) -> [sales minor, orders]
Totals = dict[str, list[int]]


@dataclass(frozen=True)
class BuyerSet:
    """Packed buyer totals of one firm-month-currency and the three figures drawn from them."""

    packed: bytes
    distinct: int
    repeat: int
    top_sales: int


def pack(totals: Totals) -> BuyerSet:
    """Pack buyer totals and count distinct and repeat (two orders or more) buyers."""
    record, fromhex = RECORD.pack, bytes.fromhex
    parts = []
    repeat = top = 0
    for buyer, (sales, orders) in totals.items():
        parts.append(record(fromhex(buyer), sales, orders))
        if orders >= 2:
            repeat += 1
        if sales > top:
            top = sales
    return BuyerSet(b"".join(parts), len(totals), repeat, top)


def unpack(packed: bytes) -> Totals:
    """Buyer totals of a packed value."""
    return {buyer.hex(): [sales, orders] for buyer, sales, orders in RECORD.iter_unpack(packed)}


def merged(packed: bytes, new: Totals) -> BuyerSet:
    """A stored set with a chunk's buyer totals added."""
    totals = unpack(packed)
    for buyer, (sales, orders) in new.items():
        known = totals.get(buyer)
        if known is None:
            totals[buyer] = [sales, orders]
        else:
            known[0] += sales
            known[1] += orders
    return pack(totals)
