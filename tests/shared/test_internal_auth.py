"""The signed principal header: good, stale, forged and malformed."""

import pytest

from shared.errors import Unauthorized
from shared.internal_auth import Principal, sign_principal, verify_principal

pytestmark = pytest.mark.backend_free

P = Principal("org_1", "platform", frozenset({"firms:read"}), "key1")


def test_round_trip() -> None:
    header = sign_principal(P, "s3cret", now=1000)
    assert verify_principal(header, "s3cret", now=1010) == P


@pytest.mark.parametrize(
    ("header", "secret", "now", "fragment"),
    [
        (None, "s3cret", 1000, "missing"),
        ("", "s3cret", 1000, "missing"),
        ("no-dot", "s3cret", 1000, "malformed"),
        (sign_principal(P, "other", now=1000), "s3cret", 1000, "signature"),
        (sign_principal(P, "s3cret", now=1000), "s3cret", 1100, "stale"),
        (sign_principal(P, "s3cret", now=1000) + "0", "s3cret", 1000, "signature"),
    ],
)
def test_refused(header: str | None, secret: str, now: float, fragment: str) -> None:
    with pytest.raises(Unauthorized, match=fragment):
        verify_principal(header, secret, now=now, max_age_s=60)


def test_tampered_payload_is_refused() -> None:
    header = sign_principal(P, "s3cret", now=1000)
    payload, mac = header.rsplit(".", 1)
    forged = sign_principal(Principal("org_2", "admin"), "s3cret", now=1000).rsplit(".", 1)[0]
    with pytest.raises(Unauthorized):
        verify_principal(forged + "." + mac, "s3cret", now=1000)
    assert verify_principal(payload + "." + mac, "s3cret", now=1000).org_id == "org_1"
