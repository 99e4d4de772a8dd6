"""A real webhook receiver process for tests: verifies every Standard Webhooks signature.

Usage: python -m tests.gateway.webhook_receiver PORT SECRETS_FILE LOG_FILE FAIL_FIRST
- SECRETS_FILE holds one whsec_ secret a line (re-read on every request, so tests can rotate);
- every request is appended to LOG_FILE as one JSON line: path, webhook-id, timestamp, whether a
  signature verified and with which secrets, the status answered, and the body;
- the first FAIL_FIRST requests to /hook get a 500; any request to /gone gets a 410;
- the first FAIL_FIRST requests to /slow hang for SLOW_S seconds (the sender must time out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOLERANCE_S = 300
SLOW_S = 5.0


def verify(secrets: list[str], headers: dict[str, str], body: bytes) -> list[int]:
    """Indexes of the secrets that produced one of the header's v1 signatures."""
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "0")
    if not msg_id or not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE_S:
        return []
    sent = {
        s.split(",", 1)[1]
        for s in headers.get("webhook-signature", "").split()
        if s.startswith("v1,")
    }
    matched = []
    for i, secret in enumerate(secrets):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode()
        if any(hmac.compare_digest(expected, s) for s in sent):
            matched.append(i)
    return matched


def main() -> None:
    """Serve until killed."""
    port, secrets_file, log_file, fail_first = sys.argv[1:5]
    remaining = {"fail": int(fail_first)}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            secrets = [s for s in Path(secrets_file).read_text().split() if s]
            matched = verify(secrets, headers, body)
            if self.path == "/gone":
                status = 410
            elif not matched:
                status = 401
            elif remaining["fail"] > 0 and self.path == "/slow":
                remaining["fail"] -= 1
                time.sleep(SLOW_S)
                status = 504  # logged only: the sender gave up long before
            elif remaining["fail"] > 0:
                remaining["fail"] -= 1
                status = 500
            else:
                status = 204
            entry = {
                "path": self.path,
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "signatures": len(headers.get("webhook-signature", "").split()),
                "matched": matched,
                "status": status,
                "body": json.loads(body),
            }
            with open(log_file, "a") as log:
                log.write(json.dumps(entry) + "\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
