"""docs/api.md carries the scope table exactly as scopes.py defines it."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.scopes import scope_table_markdown

pytestmark = pytest.mark.backend_free

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_scope_table_in_docs_is_current() -> None:
    assert scope_table_markdown() in (DOCS / "api.md").read_text()
