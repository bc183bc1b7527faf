"""Which image URLs may be handed to the platform: the store-fetch SSRF rule, applied without resolving.

The platform fetches these URLs from its own network, so the check is on the URL itself (scheme, and a
host that is not a loopback/private/link-local literal or a local name): a name that resolves privately
from our network says nothing about the platform's resolver, and resolving here would make building a
payload depend on DNS. Store fetches (extraction/guard.py) additionally resolve and pin, since we connect.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


class UnsafeImageUrl(ValueError):
    """An image URL that must not be sent to the platform; never worth retrying."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved)


def check_image_url(url: str) -> str:
    """`url` unchanged if it may go to the platform; else UnsafeImageUrl saying why."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UnsafeImageUrl(f"invalid image URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeImageUrl(f"refusing image URL {url!r}: only http and https may be sent to the platform")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeImageUrl(f"refusing image URL {url!r}: it has no host")
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        raise UnsafeImageUrl(f"refusing image URL {url!r}: {host} is a local name")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not _is_public(address):
        raise UnsafeImageUrl(f"refusing image URL {url!r}: {address} is not a public address")
    return url


def is_safe_image_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        check_image_url(url)
    except UnsafeImageUrl:
        return False
    return True
