"""Standard Webhooks signing against the specification's published example, and the retry
schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.gateway.config import GatewaySettings
from services.gateway.webhooks import _backoff, new_secret, sign, signature_header

pytestmark = pytest.mark.backend_free


def test_signature_matches_the_standard_webhooks_example() -> None:
    # The example of the Standard Webhooks specification (and of its reference libraries).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_rotation_sends_one_signature_per_secret() -> None:
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_") and old != new
    header = signature_header([new, old], "evt_1", 1, b"{}")
    assert header.split() == [sign(new, "evt_1", 1, b"{}"), sign(old, "evt_1", 1, b"{}")]


def test_default_schedule_spans_about_a_day_with_jitter() -> None:
    schedule = GatewaySettings().webhook_retry_schedule_s
    waits = [_backoff(n, schedule) for n in range(1, len(schedule) + 2)]
    assert waits[-1] is None  # the schedule is used up: the delivery fails
    total = sum((w for w in waits if w is not None), timedelta())
    assert timedelta(hours=0.8 * 27) < total < timedelta(hours=1.2 * 28)
    # Jitter: the same attempt does not always wait the same time.
    assert len({_backoff(2, schedule) for _ in range(20)}) > 1
