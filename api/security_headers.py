"""Security headers on every response, and a strict Content-Security-Policy on our pages.

Every response says: do not sniff types, do not frame me, send no referrer across origins,
no camera/microphone/geolocation; over TLS, HSTS. The console, the API docs and the account
pages the emails link to are pages a browser renders, so they get a CSP that only allows this
origin's scripts (their assets are served from here, not a CDN). LangServe's playground
ships its own inline bootstrap and compiles its JSON-schema form validators at run time, so
it gets the same policy with inline scripts and eval allowed, and nothing from other origins.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PLAYGROUND_CSP = STRICT_CSP.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
PAGES = ("/console", "/docs", "/account")


def csp_for(path: str) -> str:
    if path.startswith("/graphs/") and "/playground" in path:
        return PLAYGROUND_CSP
    if path.startswith(PAGES):
        return STRICT_CSP
    # JSON and event streams: nothing in them may load or run anything.
    return API_CSP


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        secure = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp_for(path))
                if secure:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, with_headers)
