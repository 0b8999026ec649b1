"""The web console: static files served at ``/console/`` (``/`` redirects there).

Plain ES modules, no build step; the console talks only to the public ``/v1`` API (and reads
``/metrics`` when present). Every console response carries a strict Content-Security-Policy:
scripts and styles come from this origin only, no inline code, no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response

from ticketbridge.errors import NotFound

STATIC = (Path(__file__).parent / "static").resolve()
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console")
async def console_bare() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/{path:path}")
async def console_file(path: str) -> Response:
    target = (STATIC / (path or "index.html")).resolve()
    # Only files inside static/ (no "..", no symlink out), and only the types we ship.
    if not target.is_relative_to(STATIC) or not target.is_file() or target.suffix not in _TYPES:
        raise NotFound("no such console file")
    return FileResponse(target, media_type=_TYPES[target.suffix], headers=SECURITY_HEADERS)


def install(app: FastAPI) -> None:
    app.include_router(router)
