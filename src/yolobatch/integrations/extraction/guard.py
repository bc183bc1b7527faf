"""SSRF guard: server-side fetches of user-supplied URLs must never reach the machine's own network.

A restaurant URL comes from a CSV anybody in the organisation can upload; without this guard it could
point at the cloud metadata service (169.254.169.254), the database or the Temporal frontend.

The name is resolved once: `check` returns the address it approved and the fetch connects to exactly that
address (TLS still verifies the name), so a DNS-rebinding record with a zero TTL cannot answer a public
address to the check and a private one to the connection. Every redirect hop is checked and pinned again.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from yolobatch.integrations.extraction.errors import ExtractionError

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(address: IPAddress) -> bool:
    """False for every range that is not the public internet (private, loopback, link-local, ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel.
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        # Catches what the flags above miss, e.g. carrier-grade NAT 100.64.0.0/10.
        or not address.is_global
    )


class UrlGuard:
    """Refuses URLs that are not http(s) or whose host is, or resolves to, a non-public address.

    `allowed_hosts` lists exceptions as `host` or `host:port` (tests allow the local sandbox this way);
    `allow_private` switches the address check off entirely (a trusted, on-premises deployment).
    """

    def __init__(self, allow_private: bool = False, allowed_hosts: frozenset[str] = frozenset()) -> None:
        self.allow_private = allow_private
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    def check(self, url: str) -> IPAddress | None:
        """Refuse `url`, or return the address to connect to (None: an allowed host, connect as usual)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ExtractionError(f"Invalid URL {url!r}: {exc}", "invalid_url") from exc
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise ExtractionError(f"Refusing {scheme or 'scheme-less'} URL {url!r}", "ssrf_refused")
        host = (parts.hostname or "").lower()
        if not host:
            raise ExtractionError(f"URL {url!r} has no host", "invalid_url")
        port = port or DEFAULT_PORTS[scheme]
        if self.allow_private or host in self.allowed_hosts or f"{host}:{port}" in self.allowed_hosts:
            return None
        addresses = self._addresses(host, port)
        for address in addresses:
            if not is_public_address(address):
                raise ExtractionError(
                    f"Refusing {url!r}: {host} is or resolves to the non-public address {address}",
                    "ssrf_refused",
                )
        return addresses[0]

    @staticmethod
    def _addresses(host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ExtractionError(f"Cannot resolve {host}: {exc}", "unreachable", retryable=True) from exc
        # Every address counts: a name with one public and one private record is refused.
        # A SOCK_STREAM address is a (host, port, ...) tuple whose host is a string (a scope id after "%").
        return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
