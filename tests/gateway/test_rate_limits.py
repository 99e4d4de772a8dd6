"""Token bucket per key, configurable per organisation; 429 with Retry-After and RateLimit headers;
shared by replicas when Redis is configured."""

from __future__ import annotations

import time

import pytest

from tests.gateway.conftest import REDIS_URL, RunningGateway


def _limit(gw: RunningGateway, org_id: str, rate: float, burst: int) -> None:
    with gw.admin() as admin:
        r = admin.put(
            f"/v1/organizations/{org_id}/limits",
            json={"rate_limit_per_s": rate, "rate_limit_burst": burst},
        )
    assert r.status_code == 200, r.text


def test_bucket_per_key_with_429_problem(gateway: RunningGateway) -> None:
    org_id, token = gateway.new_org("platform")
    _limit(gateway, org_id, rate=0.5, burst=3)
    with gateway.client(token) as c:
        answers = [c.get("/v1/api-keys") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-remaining"] == "0"
    assert int(refused.headers["ratelimit-reset"]) >= 1
    # Another organisation's key is not affected.
    _, other = gateway.new_org("platform")
    with gateway.client(other) as c:
        assert c.get("/v1/api-keys").status_code == 200


def test_bucket_refills(gateway: RunningGateway) -> None:
    org_id, token = gateway.new_org("platform")
    _limit(gateway, org_id, rate=5, burst=1)
    with gateway.client(token) as c:
        assert c.get("/v1/api-keys").status_code == 200
        assert c.get("/v1/api-keys").status_code == 429
        time.sleep(0.3)
        assert c.get("/v1/api-keys").status_code == 200


@pytest.mark.skipif(not REDIS_URL, reason="limits across replicas need SMEFIN_TEST_REDIS_URL")
def test_replicas_share_the_bucket_through_redis(start_gateway) -> None:  # type: ignore[no-untyped-def]
    a = start_gateway()
    b = start_gateway()
    org_id, token = a.new_org("platform")
    _limit(a, org_id, rate=0.1, burst=4)
    b.app.state.authenticator.forget_all()
    with a.client(token) as ca, b.client(token) as cb:
        codes = [c.get("/v1/api-keys").status_code for c in (ca, cb, ca, cb)]
        assert codes == [200, 200, 200, 200]
        assert ca.get("/v1/api-keys").status_code == 429
        assert cb.get("/v1/api-keys").status_code == 429
