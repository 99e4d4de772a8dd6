"""Credit fixtures: the app in-process on a fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.credit.app import create_app
from services.credit.config import CreditSettings
from tests.conftest import TEST_SECRET, principal_headers


@pytest.fixture
def credit_settings(make_database: Callable[[str], str], model_dir: Path) -> CreditSettings:
    """Settings of a credit service on its own database."""
    return CreditSettings(
        database_url=make_database("credit"),
        model_dir=model_dir,
        internal_secret=TEST_SECRET,
        env="test",
        log_json=False,
        log_level="WARNING",
        # Headers are signed once per test; the first start of a session may train for a minute.
        principal_max_age_s=86_400,
    )


@pytest.fixture
def credit(credit_settings: CreditSettings) -> Iterator[TestClient]:
    """A client of the credit app, acting as platform org_p1 unless told otherwise."""
    with TestClient(create_app(credit_settings), headers=principal_headers("org_p1")) as client:
        yield client


def firm_body(**over: object) -> dict[str, object]:
    """A valid firm body."""
    body: dict[str, object] = {
        "name": "Test shop",
        "industry": "retail",
        "region_code": "330106",
        "employees": 12,
        "operating_revenue_cny": "1500000.00",
    }
    body.update(over)
    return body


def txn(txn_id: str, **over: object) -> dict[str, object]:
    """A valid sale row."""
    row: dict[str, object] = {
        "txn_id": txn_id,
        "type": "sale",
        "occurred_at": "2026-03-15T10:00:00+08:00",
        "amount": "100.00",
        "currency": "CNY",
        "order_ref": f"o-{txn_id}",
        "buyer_ref": "buyer-1",
    }
    row.update(over)
    return row


def insert_bare_firms(conn: sa.Connection, firm_ids: Iterable[int]) -> None:
    """Firms of platform 'p' straight in SQL, for tests of migrations (no app, any schema)."""
    for firm_id in firm_ids:
        conn.execute(
            sa.text(
                "INSERT INTO firm (id, platform_org_id, firm_ref, industry, region_code, "
                "size_class, size_table_version, timezone, created_at, updated_at, "
                "metrics_version) VALUES (:id, 'p', :ref, 'retail', '330106', 'micro', "
                "'v', 'Asia/Shanghai', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)"
            ),
            {"id": firm_id, "ref": f"f{firm_id}"},
        )
