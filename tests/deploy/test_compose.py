"""The compose file parses and wires PostgreSQL, Redis, the migration and the three services."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, SERVICES
from tests.deploy.env_names import SECRET_ENV, known_env_names

pytestmark = pytest.mark.backend_free

COMPOSE = DEPLOY / "compose.yaml"
REQUIRED_VAR = re.compile(r"\$\{(\w+):\?[^}]*\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed compose file (anchors and merge keys resolved by YAML)."""
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def test_has_the_stack(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "migrate", *SERVICES}


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name != "migrate":
            assert svc["healthcheck"]["test"], name
    for name in SERVICES:
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"127.0.0.1:{SERVICES[name]}/readyz" in test


def test_start_order_waits_on_conditions(compose: dict[str, Any]) -> None:
    svcs = compose["services"]
    assert svcs["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SERVICES:
        deps = svcs[name]["depends_on"]
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert svcs["matching"]["depends_on"]["credit"]["condition"] == "service_healthy"
    for upstream in ("credit", "matching", "redis"):
        assert svcs["gateway"]["depends_on"][upstream]["condition"] == "service_healthy"


def test_one_image_runs_every_service(compose: dict[str, Any]) -> None:
    svcs = compose["services"]
    images = {svcs[n]["image"] for n in (*SERVICES, "migrate")}
    assert len(images) == 1
    for name, port in SERVICES.items():
        env = svcs[name]["environment"]
        assert (env["SMEFIN_SERVICE"], env["SMEFIN_PORT"]) == (name, str(port))
        assert env["SMEFIN_ENV"] == "production"
    assert svcs["migrate"]["command"] == ["smefin", "migrate"]
    assert svcs["credit"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_only_the_gateway_is_published(compose: dict[str, Any]) -> None:
    published = {n for n, s in compose["services"].items() if s.get("ports")}
    assert published == {"gateway"}


def test_secrets_come_only_from_the_environment(compose: dict[str, Any]) -> None:
    known = known_env_names()
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if key.startswith("SMEFIN_"):
                assert key in known, f"{name}: {key} is read by no service"
            if key in SECRET_ENV or key == "POSTGRES_PASSWORD":
                text = str(value)
                # Either a required variable, or a URL whose password is one.
                assert REQUIRED_VAR.search(text) or not re.search(r"://[^@/]*:[^@/]*@", text), (
                    f"{name}: {key} has a literal secret"
                )
                if key != "SMEFIN_REDIS_URL":
                    assert REQUIRED_VAR.search(text), f"{name}: {key} must be ${{VAR:?...}}"


def test_each_service_gets_only_its_own_database(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        assert {k for k in env if k.endswith("_DATABASE_URL")} == {
            f"SMEFIN_{name.upper()}_DATABASE_URL"
        }
    migrate_env = compose["services"]["migrate"]["environment"]
    assert {f"SMEFIN_{n.upper()}_DATABASE_URL" for n in SERVICES} <= set(migrate_env)


def test_postgres_creates_one_database_per_service() -> None:
    sql = (DEPLOY / "compose" / "postgres-init.sql").read_text()
    for name in SERVICES:
        assert f"CREATE DATABASE {name};" in sql
