"""Company registries (steps 2 and 4): search by trading name and address, rank, fetch details."""

from __future__ import annotations

import httpx

from yolobatch.domain.company import REGISTRIES, RegistrySource
from yolobatch.integrations.registry.base import HttpRegistry, Registry, RegistryError, merge
from yolobatch.integrations.registry.companies_house import CompaniesHouseRegistry
from yolobatch.integrations.registry.nzbn import NzbnRegistry
from yolobatch.integrations.registry.ranking import rank

RegistryKind = RegistrySource
ADAPTERS: dict[str, type[HttpRegistry]] = {"nzbn": NzbnRegistry, "companies_house": CompaniesHouseRegistry}
if set(ADAPTERS) != set(REGISTRIES):  # a registry added to the list without its adapter fails at import
    raise RuntimeError(f"registry adapters {sorted(ADAPTERS)} do not match REGISTRIES {sorted(REGISTRIES)}")


def make_registry(kind: str, http: httpx.AsyncClient, base_url: str, api_key: str) -> Registry:
    """The adapter of registry `kind`; an unknown kind is an error, never a fallback to another registry."""
    try:
        adapter = ADAPTERS[kind]
    except KeyError:
        raise ValueError(f"unknown registry {kind!r}; expected one of {sorted(ADAPTERS)}") from None
    return adapter(http, base_url, api_key)


__all__ = [
    "ADAPTERS",
    "REGISTRIES",
    "CompaniesHouseRegistry",
    "NzbnRegistry",
    "Registry",
    "RegistryError",
    "RegistryKind",
    "make_registry",
    "merge",
    "rank",
]
