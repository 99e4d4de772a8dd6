"""Security fixtures: each service app in-process on its own fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.credit.app import create_app as create_credit
from services.credit.config import CreditSettings
from services.gateway.app import create_app as create_gateway
from services.gateway.config import GatewaySettings
from services.matching.app import create_app as create_matching
from services.matching.config import MatchingSettings
from tests.conftest import TEST_SECRET

AppFactory = Callable[..., TestClient]


@pytest.fixture
def service_client(
    make_database: Callable[[str], str], model_dir: Path
) -> Iterator[Callable[..., TestClient]]:
    """Factory: a started TestClient of one service, settings overridable by keyword."""
    opened: list[TestClient] = []

    def make(service: str, **overrides: object) -> TestClient:
        common: dict[str, object] = {
            "database_url": make_database(service),
            "internal_secret": TEST_SECRET,
            "env": "test",
            "log_json": False,
            "log_level": "WARNING",
        }
        common.update(overrides)
        app: FastAPI
        if service == "credit":
            common.setdefault("model_dir", model_dir)
            app = create_credit(CreditSettings(**common))  # type: ignore[arg-type]
        elif service == "matching":
            app = create_matching(MatchingSettings(**common))  # type: ignore[arg-type]
        else:
            common.setdefault("admin_key", "smf_admin_security_tests")
            app = create_gateway(GatewaySettings(**common))  # type: ignore[arg-type]
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
