"""A service that is down: 503 problem with Retry-After within 1 s, the circuit opens, the other
service's routes keep working, and the breaker closes again once the service is back."""

from __future__ import annotations

import socket
import time

from services.cli import stack as stack_mod
from tests.gateway.conftest import RunningGateway


def test_down_service_is_a_fast_503_and_the_other_keeps_working(
    start_gateway, services_stack: stack_mod.Stack
) -> None:  # type: ignore[no-untyped-def]
    dead_port = stack_mod.free_port()  # nothing listens here
    gw: RunningGateway = start_gateway(
        credit_url=services_stack.url("credit"),
        matching_url=f"http://127.0.0.1:{dead_port}",
        breaker_failures=3,
        breaker_cooldown_s=1.0,
    )
    _, token = gw.new_org("platform")
    with gw.client(token) as c:
        for _ in range(5):
            started = time.monotonic()
            r = c.get("/v1/applications/app_x")
            assert time.monotonic() - started < 1.0
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1
        assert gw.app.state.forwarder.breakers["matching"].state == "open"
        # credit is untouched by matching's breaker
        assert c.get("/v1/firms").status_code == 200
        assert gw.app.state.forwarder.breakers["credit"].state == "closed"

        # The service comes back: after the cool-down one trial call closes the breaker.
        breaker = gw.app.state.forwarder.breakers["matching"]
        gw.app.state.forwarder.upstreams["matching"] = services_stack.url("matching")
        time.sleep(1.1)
        r = c.get("/v1/applications/app_missing")
        assert r.status_code == 404  # the trial reached the real service
        assert breaker.state == "closed"


def test_unresponsive_service_hits_the_connect_deadline(start_gateway) -> None:  # type: ignore[no-untyped-def]
    # A listening socket that never accepts: connect completes (backlog) but no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        port = silent.getsockname()[1]
        gw: RunningGateway = start_gateway(
            matching_url=f"http://127.0.0.1:{port}", upstream_timeout_s=0.8
        )
        _, token = gw.new_org("platform")
        with gw.client(token) as c:
            started = time.monotonic()
            r = c.get("/v1/applications/app_x")
            elapsed = time.monotonic() - started
    assert r.status_code == 503 and elapsed < 1.5
