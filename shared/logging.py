"""JSON logs, one object a line, each carrying the request id of the request it belongs to."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime

import orjson

from shared.request_context import current_request_id

# Bearer tokens and smefin keys are masked even if a caller logs them by mistake.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"']+"), r"\1***"),
    (re.compile(r"smf_[A-Za-z0-9]+_[A-Za-z0-9_\-]+"), "smf_***"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_***"),
]


def redact(text: str) -> str:
    """Mask anything that looks like an API key, bearer token or webhook secret."""
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object with time, level, logger, message and request id."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        rid = current_request_id()
        if rid:
            # A client chooses its request id: one that carries a key is masked like the rest.
            entry["request_id"] = redact(rid)
        for key in ("method", "path", "status", "duration_ms", "org_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """Send every logger (ours and uvicorn's) to stdout, as JSON unless asked otherwise."""
    handler = logging.StreamHandler(sys.stdout)
    if json_logs:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Access lines are written by our own middleware, with the request id and no query string.
    logging.getLogger("uvicorn.access").disabled = True
