"""What Facebook Pages and Instagram share: Meta's Graph API, its login and its errors.

Both go through Facebook Login for Business and ``graph.facebook.com``: one Meta app, one
consent, one long-lived user token, and the Pages the user manages (each with its own
Page token, and possibly an Instagram professional account connected to it). Instagram is
reached this way, not through "Instagram Login", because only this flow has the
resumable video upload (``rupload.facebook.com``) that lets Chorus send its own bytes
instead of asking Instagram to fetch a public URL.

Endpoints:

* Login: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
  (``/dialog/oauth``, ``/oauth/access_token``), long-lived tokens and Page tokens:
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
* ``/me/accounts``: https://developers.facebook.com/docs/graph-api/reference/user/accounts
* Errors: https://developers.facebook.com/docs/graph-api/guides/error-handling and rate
  limits (codes 4, 17, 32, 613, 80001-80014; ``X-App-Usage``,
  ``X-Business-Use-Case-Usage``): https://developers.facebook.com/docs/graph-api/overview/rate-limiting

Tokens: the connection's user token is exchanged for a long-lived one (about 60 days); a
Page token fetched with it does not expire. Each account's ``Tokens`` hold the Page token
as ``access_token`` and the long-lived user token as ``refresh_token``: ``refresh``
exchanges the user token for a fresh long-lived one and fetches the Page token again, so
an account stays connected as long as it is refreshed within 60 days. Meta has no refresh
tokens of its own and no PKCE in this server-side flow (the app secret authenticates).

Why httpx and not ``facebook-business``: that SDK is synchronous and global-session
based; two dozen Graph calls do not need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from tools.platforms.base import (
    AccessTokenExpired,
    AuthorizationUrl,
    NeedsReconnect,
    PermanentError,
    PlatformError,
    RateLimited,
    Tokens,
    TransientError,
)
from tools.platforms.http import classify_status, expires_at, payload
from tools.platforms.provider import HttpProvider, ProviderConfig

__all__ = ["MetaConfig", "MetaProvider", "classify_for"]

GRAPH_VERSION = "v23.0"
_RATE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
_PERMISSION_CODES = frozenset(range(200, 300))
#: Meta's windows are an hour long; without a header saying otherwise, wait that.
_DEFAULT_WAIT = 3600.0


@dataclass(frozen=True, slots=True)
class MetaConfig(ProviderConfig):
    """URLs left empty are derived from ``graph_version`` (production hosts)."""

    graph_version: str = GRAPH_VERSION
    dialog_url: str = ""
    graph_base: str = ""
    video_base: str = ""
    rupload_base: str = ""
    web_base: str = "https://www.facebook.com"
    instagram_web: str = "https://www.instagram.com"
    scopes: tuple[str, ...] = ()
    chunk_size: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        v = self.graph_version
        defaults = {
            "dialog_url": f"https://www.facebook.com/{v}/dialog/oauth",
            "graph_base": f"https://graph.facebook.com/{v}",
            "video_base": f"https://graph-video.facebook.com/{v}",
            "rupload_base": f"https://rupload.facebook.com/ig-api-upload/{v}",
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    @classmethod
    def for_base_url(cls, base_url: str, **kw: Any) -> MetaConfig:
        root = f"{base_url.rstrip('/')}/meta"
        v = kw.get("graph_version", GRAPH_VERSION)
        return cls(
            dialog_url=f"{root}/www/{v}/dialog/oauth",
            graph_base=f"{root}/graph/{v}",
            video_base=f"{root}/graph/{v}",
            rupload_base=f"{root}/rupload/ig-api-upload/{v}",
            web_base=f"{root}/web",
            instagram_web=f"{root}/ig",
            **kw,
        )


def _regain_seconds(response: httpx.Response) -> float:
    """The longest ``estimated_time_to_regain_access`` (minutes) in Meta's usage headers."""
    longest = 0.0
    for name in ("x-business-use-case-usage", "x-app-usage", "x-page-usage", "x-ad-account-usage"):
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries: list[Any] = []
        if isinstance(data, dict) and any(isinstance(v, list) for v in data.values()):
            for value in data.values():
                entries += value if isinstance(value, list) else []
        else:
            entries.append(data)
        for entry in entries:
            if isinstance(entry, dict):
                minutes = entry.get("estimated_time_to_regain_access") or 0
                longest = max(longest, float(minutes) * 60)
    return longest or _DEFAULT_WAIT


def classify_for(network: str):  # type: ignore[no-untyped-def]
    """The Graph API error classifier, naming ``network`` in its errors."""

    def classify(response: httpx.Response) -> PlatformError:
        body = payload(response)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return classify_status(response, network, f"HTTP {response.status_code}")
        message = str(error.get("error_user_msg") or error.get("message") or "Graph API error")
        code = error.get("code")
        subcode = error.get("error_subcode")
        code_text = f"{code}/{subcode}" if subcode else str(code)
        kw: dict[str, Any] = {"network": network, "status": response.status_code, "code": code_text}
        if code in _RATE_CODES or (code == 9 and subcode == 2207042):
            return RateLimited(message, retry_after_seconds=_regain_seconds(response), **kw)
        if code == 190:
            cls = AccessTokenExpired if subcode == 463 else NeedsReconnect
            return cls(str(error.get("message") or message), **kw)
        if code in _PERMISSION_CODES:
            return NeedsReconnect(message, **kw)
        if code in (1, 2) or error.get("is_transient") or response.status_code >= 500:
            return TransientError(message, **kw)
        return PermanentError(message, **kw)

    return classify


def parse_time(value: str | None) -> datetime | None:
    """Graph's ``2025-05-01T10:00:00+0000`` timestamps."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


class MetaProvider(HttpProvider):
    """The Graph API plumbing both Meta providers use."""

    default_scopes: tuple[str, ...] = ()

    def __init__(self, config: MetaConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, classify_for(self.network), client)
        self.cfg = config

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.cfg.scopes or self.default_scopes

    def _graph(self, path: str) -> str:
        return f"{self.cfg.graph_base}/{path.lstrip('/')}"

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def get(self, token: str, path: str, **params: str) -> Any:
        return await self.http.json(
            "GET", self._graph(path), params=params, headers=self._auth(token)
        )

    async def post(self, token: str, path: str, *, idempotent: bool = False, **data: str) -> Any:
        return await self.http.json(
            "POST", self._graph(path), data=data, headers=self._auth(token), idempotent=idempotent
        )

    # --- login -------------------------------------------------------------------------------

    def authorization_url(
        self, state: str, redirect_uri: str, code_challenge: str | None = None
    ) -> AuthorizationUrl:
        params = {
            "client_id": self.cfg.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": ",".join(self.scopes),
        }
        return AuthorizationUrl(f"{self.cfg.dialog_url}?{urlencode(params)}", self.scopes, False)

    async def _user_token(self, code: str, redirect_uri: str) -> Tokens:
        """Code -> short-lived user token -> long-lived user token (60 days)."""
        short = await self.http.json(
            "POST",
            self._graph("oauth/access_token"),
            data={
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            },
        )
        return await self._long_lived(short["access_token"])

    async def _long_lived(self, user_token: str) -> Tokens:
        body = await self.http.json(
            "POST",
            self._graph("oauth/access_token"),
            data={
                "grant_type": "fb_exchange_token",
                "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret,
                "fb_exchange_token": user_token,
            },
        )
        return Tokens(
            access_token=body["access_token"],
            expires_at=expires_at(body.get("expires_in")),
            scopes=self.scopes,
        )

    async def _pages(self, user_token: str, fields: str) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(20):
            params = {"fields": fields, "limit": "100"}
            if after:
                params["after"] = after
            body = await self.get(user_token, "me/accounts", **params)
            pages += body.get("data") or []
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (body.get("paging") or {}).get("next"):
                break
        return pages

    async def refresh(self, tokens: Tokens) -> Tokens:
        """A fresh long-lived user token, and the Page token fetched with it again."""
        if not tokens.refresh_token:
            raise NeedsReconnect(
                "no long-lived user token to refresh with; connect again", network=self.network
            )
        user = await self._long_lived(tokens.refresh_token)
        page_id = tokens.extra.get("page_id") or self._account_id(tokens)
        page = await self.get(user.access_token, page_id, fields="access_token")
        if not page.get("access_token"):
            raise NeedsReconnect(
                "the user no longer manages this Page", network=self.network, code="no_page_token"
            )
        return Tokens(
            access_token=page["access_token"],
            refresh_token=user.access_token,
            expires_at=None,
            refresh_expires_at=user.expires_at,
            scopes=tokens.scopes,
            account_id=tokens.account_id,
            extra=dict(tokens.extra),
        )

    async def revoke(self, tokens: Tokens) -> None:
        """Remove the app's permissions for the user (``DELETE /me/permissions``)."""
        token = tokens.refresh_token or tokens.access_token
        await self.http.request(
            "DELETE", self._graph("me/permissions"), headers=self._auth(token), idempotent=True
        )

    async def _comments(
        self, token: str, object_id: str, fields: str, since: int | None = None
    ) -> list[dict[str, Any]]:
        params = {
            "fields": fields,
            "filter": "stream",
            "order": "chronological",
            "limit": "100",
        }
        if since is not None:
            params["since"] = str(since)
        body = await self.get(token, f"{object_id}/comments", **params)
        return body.get("data") or []

    @staticmethod
    def _insight_values(body: dict[str, Any]) -> dict[str, int]:
        out: dict[str, int] = {}
        for metric in body.get("data") or []:
            values = metric.get("values") or []
            value = (
                metric.get("total_value", {}).get("value") if metric.get("total_value") else None
            )
            if value is None and values:
                value = values[-1].get("value")
            if isinstance(value, (int, float)):
                out[metric["name"]] = int(value)
        return out
