"""``/console``: a browser page for signing in, chatting with the console graph, running the
workflows, answering their approval interrupts and opening past threads.

No build step: one HTML file, one JS module and one stylesheet under ``api/static/console``.
The page talks only to the public API (``/api/auth`` and the ``/lg`` runs API).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "console"
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["console"], include_in_schema=False)


@router.get("/console")
async def console_page() -> FileResponse:
    """The console's single page; its script and stylesheet are under ``/console/static``."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=NO_CACHE)


def mount_static(app: FastAPI) -> None:
    """Serve the console's script and stylesheet at ``/console/static``."""
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
