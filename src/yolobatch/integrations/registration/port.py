"""The platform port: what the engine needs from a registration platform, whichever contract it speaks.

Two adapters implement it: `contract` (yolobatch's own contract, docs/platform-contract.yaml: self-contained
payloads, Idempotency-Key honoured) and `original` (the original service, docs/platform-contract.yaml:
its own ids, no idempotency, verification reads). Which one an organisation uses is configuration.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import httpx

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.menu import Menu
from yolobatch.domain.org_platform import PLATFORM_CONTRACTS, ContractName
from yolobatch.domain.plan import PLAN, SubStep
from yolobatch.integrations.registration.client import CallFailed, CallResult, RegistrationClient
from yolobatch.integrations.registration.original_payloads import build_original_request, platform_ids
from yolobatch.integrations.registration.payloads import Request, build_request

S = SubStep
Verification = Literal["done", "not_done", "unknown"]
CONTRACTS = PLATFORM_CONTRACTS

# The original service's own per-script limits (the plan's table); None: no limit of its own.
SERVICE_LIMIT_SECONDS: dict[SubStep, float | None] = {spec.key: spec.service_limit_seconds for spec in PLAN}
# Calls without a script limit are plain API work (observed 2.5-34 s, §4.4).
UNLIMITED_CALL_SECONDS = 120.0
MARGIN_FACTOR = 1.25
MARGIN_SECONDS = 30.0


def call_timeout(key: SubStep, scale: float = 1.0) -> float:
    """Our timeout for `key`: a margin over the service's own limit, so that the service gives up (and
    answers) first; a timeout at exactly its limit races it and turns clean failures into ambiguous ones."""
    limit = SERVICE_LIMIT_SECONDS[key]
    base = UNLIMITED_CALL_SECONDS if limit is None else limit
    return (base * MARGIN_FACTOR + MARGIN_SECONDS) * scale


@runtime_checkable
class PlatformPort(Protocol):
    """One organisation's registration platform."""

    name: ContractName

    def is_idempotent(self, key: SubStep) -> bool:
        """True when repeating `key` with the same idempotency key cannot repeat its effect."""
        ...

    def timeout(self, key: SubStep) -> float: ...

    def build(
        self,
        key: SubStep,
        job_id: str,
        config: RegistrationConfig,
        menu: Menu | None,
        context: dict[str, Any],
    ) -> Request:
        """The request for `key`; raises UnsafeImageUrl / MissingPlatformId (never retryable)."""
        ...

    async def call(
        self, key: SubStep, request: Request, idempotency_key: str, poll_interval: float = 1.0
    ) -> CallResult:
        """Send `request`; raises CallFailed. An idempotency key is sent only where it is honoured."""
        ...

    async def verify(self, key: SubStep, job_id: str, config: RegistrationConfig) -> Verification:
        """After an ambiguous outcome: did `key` take effect? `unknown` where the platform has no read."""
        ...

    async def recovered_context(self, key: SubStep, config: RegistrationConfig) -> dict[str, Any]:
        """After `verify` said done: what the lost answer would have told the dependents (e.g. the code
        injection id that configure-website must name), read back from the platform."""
        ...


class _ClientAdapter:
    """What both adapters share: the HTTP client and our per-call timeouts (scaled in tests)."""

    def __init__(self, client: RegistrationClient, timeout_scale: float = 1.0) -> None:
        self._client = client
        self._scale = timeout_scale

    def timeout(self, key: SubStep) -> float:
        return call_timeout(key, self._scale)


class ContractAdapter(_ClientAdapter):
    """yolobatch's own contract: every operation honours Idempotency-Key, so a replay is always safe."""

    name: ContractName = "contract"

    def is_idempotent(self, key: SubStep) -> bool:
        return True

    def build(
        self,
        key: SubStep,
        job_id: str,
        config: RegistrationConfig,
        menu: Menu | None,
        context: dict[str, Any],
    ) -> Request:
        return build_request(key, job_id, config, menu, context)

    async def call(
        self, key: SubStep, request: Request, idempotency_key: str, poll_interval: float = 1.0
    ) -> CallResult:
        return await self._client.call(key, request, idempotency_key, self.timeout(key), poll_interval)

    async def verify(self, key: SubStep, job_id: str, config: RegistrationConfig) -> Verification:
        # The contract has no reads; none are needed, since replaying with the same key is safe.
        return "unknown"

    async def recovered_context(self, key: SubStep, config: RegistrationConfig) -> dict[str, Any]:
        return {}


# Which read of the original answers for which sub-step.
STATUS_READ = "/api/registration/status/{rid}"
CODE_INJECTION_READ = "/api/registration/code-injection/{rid}"
VERIFIABLE: dict[SubStep, tuple[str, str]] = {
    S.CLOUDWAITRESS_ACCOUNT: (STATUS_READ, "hasAccount"),
    S.RESTAURANT_REGISTRATION: (STATUS_READ, "hasRestaurant"),
    S.CODE_GENERATION: (CODE_INJECTION_READ, "hasContent"),
}


class OriginalAdapter(_ClientAdapter):
    """The original service: its own ids, idempotency keys ignored, three verification reads."""

    name: ContractName = "original"

    def is_idempotent(self, key: SubStep) -> bool:
        # The service ignores idempotency keys (issue 15); a repeat creates a second restaurant, a second
        # Stripe method, flips service toggles back or duplicates option sets and tags.
        return False

    def build(
        self,
        key: SubStep,
        job_id: str,
        config: RegistrationConfig,
        menu: Menu | None,
        context: dict[str, Any],
    ) -> Request:
        return build_original_request(key, config, context)

    async def call(
        self, key: SubStep, request: Request, idempotency_key: str, poll_interval: float = 1.0
    ) -> CallResult:
        # No key: sending one would suggest a protection the service does not give.
        return await self._client.call(key, request, "", self.timeout(key), poll_interval)

    async def verify(self, key: SubStep, job_id: str, config: RegistrationConfig) -> Verification:
        """Raises CallFailed when the read itself fails (retry the read, not the operation)."""
        read = VERIFIABLE.get(key)
        if read is None:
            return "unknown"
        restaurant_id, _ = platform_ids(key, config)
        path, flag = read
        body = await self._client.get(path.format(rid=restaurant_id), self.timeout(key))
        value = body.get(flag)
        if not isinstance(value, bool):
            raise CallFailed(f"GET {path}: expected a boolean {flag!r} in the answer", retryable=False)
        return "done" if value else "not_done"

    async def recovered_context(self, key: SubStep, config: RegistrationConfig) -> dict[str, Any]:
        """Raises CallFailed when the read fails."""
        restaurant_id, _ = platform_ids(key, config)
        if key == S.CODE_GENERATION:
            body = await self._client.get(CODE_INJECTION_READ.format(rid=restaurant_id), self.timeout(key))
            return {"codeInjectionId": body["codeInjectionId"]} if body.get("codeInjectionId") else {}
        if key == S.RESTAURANT_REGISTRATION:
            body = await self._client.get(STATUS_READ.format(rid=restaurant_id), self.timeout(key))
            pumpd = body.get("pumpdRestaurant")
            if isinstance(pumpd, dict) and pumpd.get("pumpd_restaurant_id"):
                return {"platformRestaurantId": pumpd["pumpd_restaurant_id"]}
        return {}


def make_adapter(
    contract: ContractName,
    http: httpx.AsyncClient,
    base_url: str,
    service_key: str,
    org_id: str,
    *,
    secrets: list[str] | None = None,
    timeout_scale: float = 1.0,
) -> PlatformPort:
    """The adapter of one organisation's platform (URL, key and contract are per organisation)."""
    client = RegistrationClient(http, base_url, service_key, org_id, secrets=secrets)
    if contract == "contract":
        return ContractAdapter(client, timeout_scale)
    if contract == "original":
        return OriginalAdapter(client, timeout_scale)
    raise ValueError(f"unknown platform contract {contract!r}; expected one of {', '.join(CONTRACTS)}")
