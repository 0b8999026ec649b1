from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ticketbridge.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> dict[str, str] | JSONResponse:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"; the type is the detail
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"database unreachable ({type(exc).__name__})",
                "errors": [],
            },
            headers={"Retry-After": "5"},
            status_code=503,
        )
    return {"status": "ok", "database": "ok"}
