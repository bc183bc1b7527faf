"""Knobs of one sandbox instance: credentials, speed, randomness and fault rates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SandboxSettings(BaseModel):
    # Frozen and strict: a typo such as `fault_rate_500` must fail loudly instead of silently
    # producing a fault-free sandbox that makes a test pass for the wrong reason.
    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: Literal["contract", "original"] = Field(
        default="contract",
        description="which registration contract to speak: yolobatch's own (docs/platform-contract.yaml) "
        "or the original service's (its own restaurant ids, idempotency keys ignored)",
    )
    service_key: str = Field(default="sandbox-service-key", min_length=1)
    registry_api_key: str = Field(
        default="sandbox-registry-key", min_length=1, description="NZBN and Companies House API key"
    )
    admin_token: str | None = Field(
        default=None,
        min_length=16,
        description="when set, /_sandbox/* (accounts, call logs, reset, faults) needs it in "
        "X-Sandbox-Admin-Token; `up --sandbox` sets one, since it serves the sandbox on the dashboard's port",
    )
    time_scale: float = Field(default=1.0, gt=0, description="latency = nominal seconds × time_scale")
    jitter: float = Field(default=0.2, ge=0, le=1, description="± fraction of each latency, seeded")
    seed: int = 0
    fault_rate_5xx: float = Field(default=0, ge=0, le=1, description="chance of a 503 per executed call")
    fault_rate_429: float = Field(default=0, ge=0, le=1, description="chance of a 429 per executed call")
    fault_rate_timeout: float = Field(default=0, ge=0, le=1, description="chance of a lost answer per call")
    retry_after_seconds: float = Field(default=1.0, ge=0, description="Retry-After of 429s without their own")
    hang_seconds: float = Field(
        default=3600, ge=0, description="how long a 'timeout' fault withholds the answer"
    )
    async_upload_threshold: int = Field(
        default=10, ge=0, description="more images than this upload in background"
    )
