"""`smefin upload` against a real stack (gateway and credit processes): report, exit codes,
--firm-ref, gzip, and an oversized file refused before anything is stored."""

from __future__ import annotations

import gzip
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from services.cli import stack as stack_mod
from services.cli.client import SmefinClient
from services.cli.main import app
from tests.credit.conftest import txn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
def gateway(
    make_database: Callable[[str], str], model_dir: Path, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """(gateway URL, a platform key) of a running stack; bulk bodies capped at 20,000 bytes."""
    admin = "smf_admin_" + secrets.token_urlsafe(16)
    env = dict(os.environ)
    env.update(
        SMEFIN_ADMIN_KEY=admin,
        SMEFIN_INTERNAL_SECRET=secrets.token_urlsafe(16),
        SMEFIN_CREDIT_MODEL_DIR=str(model_dir),
        SMEFIN_CREDIT_MAX_BULK_BYTES="20000",
        SMEFIN_LOG_LEVEL="WARNING",
        SMEFIN_ENV="test",
        **{f"SMEFIN_{s.upper()}_DATABASE_URL": make_database(s) for s in stack_mod.SERVICES},
    )
    running = stack_mod.start_stack(env, log_dir=tmp_path / "logs")
    try:
        url = running.url("gateway")
        with SmefinClient(url, admin) as client:
            org = client.create_org("cli platform", "platform")
            key = client.create_key(org["id"], "cli")["token"]
        with SmefinClient(url, key) as platform:
            platform.request(
                "PUT", "/v1/firms/shop-1", {"industry": "retail", "region_code": "330106"}
            )
        yield url, key
    finally:
        stack_mod.stop_stack(running)


def _invoke(url: str, key: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["upload", *args, "--gateway", url, "--api-key", key])
    return result.exit_code, result.output


def _metrics(url: str, key: str) -> list[dict[str, object]]:
    with SmefinClient(url, key) as platform:
        return platform.request("GET", "/v1/firms/shop-1/metrics")["months"]  # type: ignore[no-any-return]


def test_upload_ndjson_with_firm_ref_then_csv_gz_with_a_bad_row(
    gateway: tuple[str, str], tmp_path: Path
) -> None:
    url, key = gateway
    nd = tmp_path / "history.ndjson"
    nd.write_bytes(b"".join(orjson.dumps(txn(f"t{i}")) + b"\n" for i in range(30)))
    code, out = _invoke(url, key, str(nd), "--firm-ref", "shop-1")
    assert code == 0, out
    assert "inserted 30" in out and "rejected 0" in out
    again_code, again = _invoke(url, key, str(nd), "--firm-ref", "shop-1")
    assert again_code == 0 and "duplicates 30" in again

    csv_gz = tmp_path / "export.csv.gz"
    csv_gz.write_bytes(
        gzip.compress(
            b"firm_ref,txn_id,type,occurred_at,amount,currency\n"
            b"shop-1,c1,sale,2026-03-01T09:00:00+08:00,10.50,CNY\n"
            b"shop-1,c2,sale,2026-03-01T09:00:00,10.50,CNY\n"
        )
    )
    code, out = _invoke(url, key, str(csv_gz))
    assert code == 1, out
    assert "inserted 1" in out and "rejected 1" in out
    assert "3" in out and "occurred_at" in out  # line 3, the field, the reason
    assert sum(int(m["orders"]) for m in _metrics(url, key)) == 31  # type: ignore[call-overload]


def test_oversized_file_is_refused_and_nothing_is_stored(
    gateway: tuple[str, str], tmp_path: Path
) -> None:
    url, key = gateway
    big = tmp_path / "big.ndjson"
    big.write_bytes(
        b"".join(orjson.dumps(txn(f"b{i}", firm_ref="shop-1")) + b"\n" for i in range(400))
    )
    assert big.stat().st_size > 20_000
    code, out = _invoke(url, key, str(big))
    assert code == 2, out
    assert "413" in out
    assert _metrics(url, key) == []
