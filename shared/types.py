"""Input types shared by the services' schemas: stricter than pydantic's lax defaults."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _require_rfc3339(value: Any) -> Any:
    # Pydantic would read 0.5 or "1700000000" as a Unix time; an API input says what it means.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, e.g. 2026-11-29T10:00:00+08:00"
        )
    return value


# An RFC 3339 date-time with an explicit offset (naive times are refused).
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_require_rfc3339)]
# A calendar month "YYYY-MM" within the years the data can hold.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
