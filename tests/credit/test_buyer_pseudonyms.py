"""Buyer pseudonyms are HMAC-SHA256 of the buyer reference under the platform's key."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.credit.ingest.rows import BuyerHasher

pytestmark = pytest.mark.backend_free


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), refs=st.lists(st.text(max_size=80), max_size=5))
def test_pseudonym_is_the_standard_hmac(key: bytes, refs: list[str]) -> None:
    """Keys shorter and longer than SHA-256's block, and repeated use of one hasher."""
    hasher = BuyerHasher(key)
    for ref in refs:
        expected = hmac.new(key, ref.encode(), hashlib.sha256).hexdigest()[:32]
        assert hasher(ref) == expected


def test_pseudonyms_differ_by_key_and_by_buyer() -> None:
    """Another key or another buyer gives another pseudonym."""
    one, other = BuyerHasher(b"k" * 32), BuyerHasher(b"j" * 32)
    assert one("buyer-1") != other("buyer-1")
    assert one("buyer-1") != one("buyer-2")
    assert len(one("buyer-1")) == 32
