"""Process settings, read from `YOLOBATCH_*` environment variables (and `TEMPORAL_ADDRESS`).

Every process of a deployment (API, workers) must share `database_url`, `secret_key` and the Temporal
address; nothing else is shared between processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from yolobatch.domain.company import RegistrySource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOLOBATCH_", extra="ignore")

    data_dir: Path = Field(default=Path(".yolobatch"), description="SQLite file, dev-server DB, secret key")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    secret_key: SecretStr | None = Field(
        default=None, description="Fernet key for secrets at rest; default: generated into data_dir"
    )

    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "YOLOBATCH_TEMPORAL_ADDRESS"),
        description="host:port of an external Temporal server; unset = embedded dev server",
    )
    # Unset: TEMPORAL_NAMESPACE (or a TEMPORAL_PROFILE), else `default` on a cluster; the embedded
    # server's own namespace, named after the installation.
    temporal_namespace: str | None = Field(default=None, min_length=1, description="Temporal namespace")
    temporal_tls: bool = Field(
        default=False, description="TLS to TEMPORAL_ADDRESS (implied by the options below)"
    )
    temporal_tls_cert: Path | None = Field(default=None, description="client certificate (PEM) for mTLS")
    temporal_tls_key: Path | None = Field(default=None, description="client private key (PEM) for mTLS")
    temporal_api_key: SecretStr | None = Field(default=None, description="API key (Temporal Cloud)")
    temporal_port: int | None = Field(
        default=None, ge=1, le=65535, description="embedded server's port; default: free, kept in data_dir"
    )
    temporal_ui: bool = Field(default=True, description="serve the embedded server's Temporal Web UI")
    temporal_ui_port: int | None = Field(
        default=None, ge=1, le=65535, description="its port; default: free, kept in data_dir"
    )
    temporal_ui_url: str | None = Field(
        default=None, description="Temporal Web UI of TEMPORAL_ADDRESS's cluster, for the dashboard's links"
    )

    registration_api_url: str = Field(default="http://127.0.0.1:8765", description="platform API base URL")
    registration_service_key: SecretStr = SecretStr("sandbox-service-key")
    registration_contract: Literal["contract", "original"] = Field(
        default="contract",
        description="platform contract of organisations without their own (`yolobatch org platform`)",
    )

    registry: RegistrySource = Field(default="nzbn", description="company registry")
    nzbn_api_url: str = "https://api.business.govt.nz/gateway/nzbn/v5"
    nzbn_api_key: SecretStr = SecretStr("")
    companies_house_api_url: str = "https://api.company-information.service.gov.uk"
    companies_house_api_key: SecretStr = SecretStr("")
    fetch_allowed_hosts: list[str] = Field(
        default_factory=list, description="host[:port] store pages may use despite a private address"
    )
    fetch_max_bytes: int = Field(default=5_000_000, ge=10_000, description="largest store page fetched")
    default_country: str = Field(
        default="NZ",
        pattern="^[A-Z]{2}$",
        description="ISO country that phone numbers without a +code belong to (until organisations set one)",
    )
    display_timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone the dashboard shows times in, named beside them (e.g. Pacific/Auckland)",
    )
    render_pages: bool = Field(
        default=False,
        description="when a store page's HTML holds no menu, render it in headless Chromium and read it "
        "again (needs the `render` extra and the system chromium)",
    )
    render_timeout_seconds: float = Field(default=30.0, gt=0, description="time budget of one page render")
    render_max_bytes: int = Field(
        default=20_000_000, ge=100_000, description="all responses of one page render together"
    )
    chromium_path: str = Field(default="/usr/bin/chromium", description="the system Chromium used to render")

    lookups_per_second: float = Field(
        default=5.0, gt=0, description="registry and store-page calls per second"
    )
    accounts_per_minute: float = Field(default=1.0, gt=0, description="platform-wide account creations/min")
    platform_concurrency: int = Field(default=8, ge=1, description="global cap on in-flight platform calls")
    active_restaurants: int = Field(
        default=500,
        ge=1,
        description="restaurants in progress at once in the installation; the rest of a batch waits to start",
    )
    lease_ttl_seconds: float = Field(
        default=15.0, ge=1, description="how long a dead worker's global-cap permits stay taken"
    )
    time_scale: float = Field(
        default=1.0, gt=0, le=1, description="scales call timeouts and the account rate (demos, tests)"
    )
    retry_attempts: int = Field(default=4, ge=1, le=20, description="automatic attempts per sub-step call")
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="how long a dashboard login lasts before logging in again"
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="on SIGTERM, how long calls in flight may run on and report before they are cancelled "
        "(and retried elsewhere with the same idempotency key); no new work is taken meanwhile. "
        "Wall-clock seconds, not scaled by time_scale: keep it below the supervisor's kill timeout",
    )

    # Telemetry (yolobatch.telemetry). Logging is set by YOLOBATCH_LOG_LEVEL / _FORMAT (yolobatch.logs),
    # read before any settings because every command logs.
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="port of the Prometheus endpoint of `up`, `api` and `worker`; unset = none served",
    )
    metrics_host: str = Field(default="127.0.0.1", min_length=1, description="interface of metrics_port")
    otel_tracing: bool = Field(
        default=False, description="OpenTelemetry spans of workflows and activities (extra `otel`)"
    )

    # Slow clients: each open connection costs the API process memory and a file descriptor; a client that
    # trickles a request in must not hold one for long (see http/serving.py).
    http_head_timeout: float = Field(
        default=10.0, gt=0, description="seconds a client has to send a request's line and headers"
    )
    http_body_idle_timeout: float = Field(
        default=30.0, gt=0, description="seconds a request body may pause between pieces"
    )
    http_body_timeout: float = Field(
        default=300.0, gt=0, description="seconds a request body may take in all"
    )
    http_max_connections: int = Field(
        default=1000, ge=1, description="open connections (and requests) before new requests get 503"
    )

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            problem = f"unknown time zone {value!r}: use an IANA name such as Pacific/Auckland"
            raise ValueError(problem) from None
        return value

    @field_validator("registration_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("registration_api_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _client_certificate_pair(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("set both temporal_tls_cert and temporal_tls_key (mTLS), or neither")
        for path in (self.temporal_tls_cert, self.temporal_tls_key):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a readable file")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'yolobatch.db').resolve()}"

    @property
    def account_interval(self) -> float:
        """Seconds between two account creations on the platform, as the workers pace them."""
        return 60 / self.accounts_per_minute * self.time_scale
