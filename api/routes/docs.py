"""``/docs``: the OpenAPI description in Swagger UI, with every asset served from here.

FastAPI's built-in docs pull Swagger UI from a CDN and start it with an inline script, which
a strict Content-Security-Policy forbids; this page uses the assets packaged in
``swagger-ui-bundle`` and a small script of ours.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

OUR_STATIC = Path(__file__).resolve().parent.parent / "static" / "docs"
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chorus API</title>
  <link rel="stylesheet" href="/docs/swagger/swagger-ui.css">
  <link rel="icon" href="/docs/swagger/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger/swagger-ui-bundle.js"></script>
  <script src="/docs/static/init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


def mount_static(app: FastAPI) -> None:
    app.mount("/docs/swagger", StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    app.mount("/docs/static", StaticFiles(directory=OUR_STATIC), name="docs-static")
