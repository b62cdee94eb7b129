"""Where an outgoing webhook may go: http(s) to public addresses only (SSRF).

A URL is checked when it is saved and again before every attempt (a name can be pointed at
another address after it was saved). Every address the name resolves to must be public,
unless the operator allows private ones (``CHORUS_WEBHOOKS_ALLOW_PRIVATE``), for a receiver
on their own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(ValueError):
    """The URL may not be called; the message says why."""


def _check_form(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("must be an http or https URL")
    if not parts.hostname:
        raise DestinationRefused("must name a host")
    if parts.username or parts.password:
        raise DestinationRefused("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("has an invalid port") from exc
    return parts.hostname, port


async def check(url: str, *, allow_private: bool) -> None:
    """DestinationRefused unless ``url`` is http(s) to a host whose every address may be
    called."""
    host, port = _check_form(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DestinationRefused(f"its host {host} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global and not allow_private:
            raise DestinationRefused(
                f"its host {host} resolves to a private or reserved address ({address}); "
                "an operator setting allows those"
            )
        if address.is_multicast or address.is_unspecified:
            raise DestinationRefused(f"its host {host} resolves to {address}")
