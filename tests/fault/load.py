"""Bounded mixed-traffic load against gateways: records every acknowledged write and latencies."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np


@dataclass
class LoadReport:
    """What the load did: counts, errors by status, latencies, and what was acknowledged."""

    requests: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acked_firms: list[str] = field(default_factory=list)
    acked_txn_batches: list[tuple[str, list[dict[str, object]]]] = field(default_factory=list)
    acked_applications: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict[str, object]:
        """Error rate and latency percentiles per operation."""
        total_errors = sum(self.errors.values())
        out: dict[str, object] = {
            "requests": self.requests,
            "errors": dict(self.errors),
            "error_rate": round(total_errors / self.requests, 4) if self.requests else 0.0,
        }
        for op, lat in self.latencies_ms.items():
            arr = np.array(lat)
            out[op] = {
                "n": len(lat),
                "p50_ms": round(float(np.percentile(arr, 50)), 1),
                "p95_ms": round(float(np.percentile(arr, 95)), 1),
                "p99_ms": round(float(np.percentile(arr, 99)), 1),
            }
        return out


def _rows(prefix: str, n: int) -> list[dict[str, object]]:
    return [
        {
            "txn_id": f"{prefix}-{i}",
            "type": "sale",
            "occurred_at": f"2026-06-0{1 + i % 9}T10:00:00+08:00",
            "amount": f"{10 + i}.50",
            "currency": "CNY",
            "order_ref": f"{prefix}-o{i}",
            "buyer_ref": f"b{i % 7}",
        }
        for i in range(n)
    ]


def run_load(
    gateways: list[str],
    api_key: str,
    *,
    duration_s: float,
    workers: int,
    seed_firms: list[str],
    at_half: Callable[[], None] | None = None,
) -> LoadReport:
    """Drive mixed traffic for duration_s; call at_half once halfway through."""
    report = LoadReport()
    firms = list(seed_firms)
    stop_at = time.monotonic() + duration_s
    half_at = time.monotonic() + duration_s / 2
    half_done = threading.Event()

    def record(op: str, started: float, status: int | None) -> None:
        with report.lock:
            report.requests += 1
            report.latencies_ms[op].append((time.perf_counter() - started) * 1000)
            if status is None or status >= 400:
                report.errors[f"{op}:{status}"] += 1

    def worker(index: int) -> None:
        rng = random.Random(index)
        clients = [
            httpx.Client(base_url=g, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
            for g in gateways
        ]
        n = 0
        try:
            while time.monotonic() < stop_at:
                if at_half and not half_done.is_set() and time.monotonic() >= half_at:
                    half_done.set()
                    at_half()
                http = clients[n % len(clients)]
                n += 1
                roll = rng.random()
                started = time.perf_counter()
                status: int | None = None
                try:
                    if roll < 0.55:
                        status = http.get(f"/v1/firms/{rng.choice(firms)}/score").status_code
                        record("score", started, status)
                    elif roll < 0.80:
                        firm = rng.choice(firms)
                        rows = _rows(f"w{index}n{n}", 20)
                        r = http.post(f"/v1/firms/{firm}/transactions", json=rows)
                        status = r.status_code
                        record("transactions", started, status)
                        if status == 200 and r.json()["inserted"] == len(rows):
                            with report.lock:
                                report.acked_txn_batches.append((firm, rows))
                    elif roll < 0.90:
                        ref = f"load-{index}-{n}"
                        status = http.put(
                            f"/v1/firms/{ref}", json={"industry": "retail", "region_code": "330106"}
                        ).status_code
                        record("firm", started, status)
                        if status in (200, 201):
                            with report.lock:
                                report.acked_firms.append(ref)
                                firms.append(ref)
                    else:
                        r = http.post(
                            "/v1/applications",
                            json={
                                "firm_ref": rng.choice(seed_firms),
                                "amount_cny": "5000",
                                "term_months": 6,
                            },
                        )
                        status = r.status_code
                        record("application", started, status)
                        if status == 201:
                            with report.lock:
                                report.acked_applications.append(r.json()["id"])
                except httpx.HTTPError:
                    record("transport", started, None)
        finally:
            for c in clients:
                c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + 60)
    return report
