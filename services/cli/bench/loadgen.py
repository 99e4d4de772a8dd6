"""HTTP load generator, run as its own process: N keep-alive connections for D seconds.

Prints one JSON line: requests, errors, requests per second, latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
import numpy as np


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    stop_at: float,
    lat: list[float],
) -> int:
    errors = 0
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            return errors
        try:
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
        except aiohttp.ClientError:
            errors += 1
        lat.append(time.perf_counter() - start)


async def run(
    url: str, headers: dict[str, str], concurrency: int, duration_s: float, warmup_s: float
) -> dict[str, float]:
    """Drive the load and summarise it."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        warm: list[float] = []
        await asyncio.gather(
            *(
                _worker(session, url, headers, time.perf_counter() + warmup_s, warm)
                for _ in range(concurrency)
            )
        )
        lat: list[float] = []
        began = time.perf_counter()
        errors = await asyncio.gather(
            *(_worker(session, url, headers, began + duration_s, lat) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - began
    arr = np.array(lat) * 1000 if lat else np.zeros(1)
    return {
        "requests": len(lat),
        "errors": int(sum(errors)),
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
    }


def main() -> None:
    """Parse arguments, run, print the JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        pass
    print(
        json.dumps(
            asyncio.run(run(args.url, headers, args.concurrency, args.duration, args.warmup))
        )
    )


if __name__ == "__main__":
    main()
