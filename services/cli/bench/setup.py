"""A throw-away stack for benchmarks: its own databases under var/bench/, real processes."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from services.cli import stack as stack_mod
from services.cli.client import SmefinClient
from services.credit.generator import GeneratorParams, simulate
from shared.settings import VAR_DIR

BENCH_DIR = VAR_DIR / "bench"


@dataclass
class BenchStack:
    """Running services on fresh SQLite databases, an admin key and one platform."""

    work_dir: Path
    stack: stack_mod.Stack
    admin_key: str
    internal_secret: str
    platform_org_id: str = ""
    platform_key: str = ""
    _firms: int = field(default=0)

    @classmethod
    def start(cls, name: str = "run", urls: dict[str, str] | None = None) -> BenchStack:
        """Fresh databases (SQLite unless `urls` names others), migrated; one platform created."""
        work_dir = BENCH_DIR / name
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        admin_key = "smf_admin_" + secrets.token_urlsafe(24)
        internal_secret = secrets.token_urlsafe(32)
        urls = {s: f"sqlite:///{work_dir / f'{s}.db'}" for s in stack_mod.SERVICES} | (urls or {})
        stack_mod.migrate_all(urls)
        env = dict(os.environ)
        env.update(
            SMEFIN_ADMIN_KEY=admin_key,
            SMEFIN_INTERNAL_SECRET=internal_secret,
            SMEFIN_LOG_LEVEL="WARNING",
            SMEFIN_CREDIT_MODEL_DIR=str(VAR_DIR / "models"),
            **{f"SMEFIN_{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
        )
        running = stack_mod.start_stack(env, log_dir=work_dir / "logs")
        bench = cls(work_dir, running, admin_key, internal_secret)
        with SmefinClient(running.url("gateway"), admin_key) as admin:
            org = admin.create_org("bench platform", "platform")
            bench.platform_org_id = org["id"]
            bench.platform_key = admin.create_key(org["id"], "bench")["token"]
        return bench

    def stop(self) -> None:
        """Stop the services."""
        stack_mod.stop_stack(self.stack)

    def firm_with_history(self, months: int = 24, orders_per_month: Decimal = Decimal(60)) -> str:
        """Register one generated firm and upload its history; return its firm_ref."""
        self._firms += 1
        params = GeneratorParams(
            median_monthly_sales=float(orders_per_month) * 150.0, sales_sigma=0.0
        )
        firm = next(iter(simulate(1, seed=1000 + self._firms, months=months, params=params)))
        ref = f"bench-{self._firms}"
        with SmefinClient(self.stack.url("gateway"), self.platform_key) as platform:
            platform.request(
                "PUT",
                f"/v1/firms/{ref}",
                {"industry": firm.industry, "region_code": firm.region_code},
            )
            platform.upload_stream(firm.transactions(ref))
        return ref
