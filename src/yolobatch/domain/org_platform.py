"""An organisation's choice of registration platform: where it is, how to authenticate, which contract.

Validated here once, so the CLI, the API and the store refuse the same bad input with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import urlsplit

# The registration contracts a platform may speak: the adapters of integrations/registration/port.py.
ContractName = Literal["contract", "original"]
PLATFORM_CONTRACTS: tuple[ContractName, ...] = get_args(ContractName)
_BY_NAME: dict[str, ContractName] = {name: name for name in PLATFORM_CONTRACTS}


class BadPlatform(ValueError):
    """The platform settings given cannot work; the message says which field and why."""


@dataclass(frozen=True)
class OrgPlatform:
    url: str
    service_key: str  # in clear only inside the process that calls the platform; never returned
    contract: ContractName

    def public(self) -> dict[str, object]:
        """What may be shown: everything but the key, and whether one is set."""
        return {"url": self.url, "contract": self.contract, "service_key_set": bool(self.service_key)}


def contract_named(contract: str) -> ContractName:
    """`contract` as one of the known contract names, else BadPlatform."""
    try:
        return _BY_NAME[contract]
    except KeyError:
        raise BadPlatform(
            f"contract: expected one of {', '.join(PLATFORM_CONTRACTS)}, got {contract!r}"
        ) from None


def checked(url: str, service_key: str, contract: str) -> OrgPlatform:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadPlatform(f"url: expected an http(s) URL such as https://platform.example.com, got {url!r}")
    if parts.query or parts.fragment:
        raise BadPlatform("url: the platform's base URL takes no query or fragment")
    if not service_key.strip():
        raise BadPlatform("key: the platform's service key is empty")
    if len(service_key) > 1000:
        raise BadPlatform("key: longer than 1000 characters")
    return OrgPlatform(url=url, service_key=service_key.strip(), contract=contract_named(contract))
