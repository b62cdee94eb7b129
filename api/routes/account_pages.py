"""The pages the account emails link to: ``/account/verify-email``, ``/account/reset-password``
and ``/account/accept-invitation`` (each with ``?token=``).

One static HTML page and one script under ``api/static/account``: the script takes the token
out of the address bar at once and calls the public API (``/api/auth/...``) with it. The
page never embeds the token itself and tells the browser not to pass the address on.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "account"
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGES = ("verify-email", "reset-password", "accept-invitation")

router = APIRouter(tags=["account"], include_in_schema=False)


async def _page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=HEADERS)


for _name in PAGES:
    router.add_api_route(f"/account/{_name}", _page, methods=["GET"], name=f"account_{_name}")


def mount_static(app: FastAPI) -> None:
    app.mount("/account/static", StaticFiles(directory=STATIC_DIR), name="account-static")
