"""Serve the console: one HTML page and its own script and style (no CDN, nothing remote).

The page calls the public /v1 API from the browser with the API key the user signs in with
(kept in sessionStorage), so the console has no powers of its own and no server-side session.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Only our own origin: scripts, styles, images and API calls; no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
router = APIRouter(include_in_schema=False)


@router.get("/console")
def console_root() -> RedirectResponse:
    """The console lives under /console/."""
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console_index() -> FileResponse:
    """The single page of the console."""
    return FileResponse(
        STATIC / "index.html",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
    )


def mount_console(app: FastAPI) -> None:
    """Add the console's page and static assets to the gateway."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
