"""A small client for the sandbox's control API and for clicking through its consent pages.

Tests use it to set the scene (seed, fault, expire) and to act as the user on a consent
page (``consent``), the way a browser would: fetch the page, submit the form, read the
redirect.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

__all__ = ["ConsentResult", "SandboxControl"]


class ConsentResult:
    """Where the consent page redirected, and the query it carried."""

    def __init__(self, location: str, page: str) -> None:
        self.location = location
        self.page = page
        self.params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    @property
    def code(self) -> str | None:
        return self.params.get("code") or self.params.get("auth_code")

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def error(self) -> str | None:
        return self.params.get("error")


class SandboxControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def users(self, network: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_sandbox/{network}/users")["users"]

    def add_user(self, network: str, **user: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/{network}/users", json=user)

    def posts(self, network: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/_sandbox/{network}/posts")["posts"]

    def created(self, network: str) -> dict[str, int]:
        """Posts created per account (deletes included)."""
        return self._call("GET", f"/_sandbox/{network}/posts")["created"]

    def mention(self, network: str, **body: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/{network}/mentions", json=body)

    def bump(self, network: str, post_id: str, **metrics: int) -> dict[str, Any]:
        return self._call(
            "POST", f"/_sandbox/{network}/metrics", json={"post_id": post_id, "metrics": metrics}
        )

    def expire(self, network: str, *, refresh: bool = False, **who: str) -> int:
        body = {**who, "refresh": refresh}
        return self._call("POST", f"/_sandbox/{network}/tokens/expire", json=body)["tokens"]

    def revoke(self, network: str, **who: str) -> int:
        return self._call("POST", f"/_sandbox/{network}/tokens/revoke", json=who)["tokens"]

    def fault(self, network: str, kind: str, **spec: Any) -> dict[str, Any]:
        """Inject a fault: ``kind`` is rate_limit, error, slow, timeout or drop; ``spec``
        takes path (regex), method, count, status, retry_after, delay."""
        return self._call(
            "POST", "/_sandbox/faults", json={"network": network, "kind": kind, **spec}
        )

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sandbox/faults")["faults"]

    def put_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve ``data`` at a public URL (for networks that fetch media themselves)."""
        response = self.http.put(
            f"/_sandbox/files/{name}", content=data, headers={"content-type": content_type}
        )
        response.raise_for_status()
        return f"{self.base_url}/_sandbox/files/{name}"

    def consent(self, url: str, *, allow: bool = True, user: str | None = None) -> ConsentResult:
        """Open a consent page and press Authorize (or Deny) as ``user`` (default: the
        first one offered)."""
        page = self.http.get(url)
        page.raise_for_status()
        html = page.text
        action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))  # type: ignore[union-attr]
        fields = {
            unescape(name): unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html
            )
        }
        offered = re.findall(r'<option value="([^"]*)">', html)
        fields["sandbox_user"] = user or (unescape(offered[0]) if offered else "")
        fields["decision"] = "allow" if allow else "deny"
        response = self.http.post(urljoin(url, action), data=fields)
        if response.status_code != 302:
            raise AssertionError(
                f"consent did not redirect: {response.status_code} {response.text}"
            )
        return ConsentResult(response.headers["location"], html)
