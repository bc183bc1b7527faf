"""Company registries (steps 2 and 4): search by trading name and address, rank, fetch details."""

from __future__ import annotations

from typing import Literal

import httpx

from yolobatch.integrations.registry.base import HttpRegistry, Registry, RegistryError, merge
from yolobatch.integrations.registry.companies_house import CompaniesHouseRegistry
from yolobatch.integrations.registry.nzbn import NzbnRegistry
from yolobatch.integrations.registry.ranking import rank

RegistryKind = Literal["nzbn", "companies_house"]
ADAPTERS: dict[str, type[HttpRegistry]] = {"nzbn": NzbnRegistry, "companies_house": CompaniesHouseRegistry}


def make_registry(kind: RegistryKind, http: httpx.AsyncClient, base_url: str, api_key: str) -> Registry:
    try:
        adapter = ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown registry {kind!r}; expected one of {sorted(ADAPTERS)}") from None
    return adapter(http, base_url, api_key)


__all__ = [
    "ADAPTERS",
    "CompaniesHouseRegistry",
    "NzbnRegistry",
    "Registry",
    "RegistryError",
    "RegistryKind",
    "make_registry",
    "merge",
    "rank",
]
