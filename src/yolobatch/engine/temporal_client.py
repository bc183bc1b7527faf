"""How to reach a Temporal cluster: Temporal's own client settings, with yolobatch's older names on top.

`temporalio.envconfig` reads what every Temporal tool reads: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
`TEMPORAL_API_KEY`, `TEMPORAL_TLS*` (client certificate and key, a server CA for a private CA, server
name) and a profile of the config file (`TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`). The
`YOLOBATCH_TEMPORAL_*` settings stay as aliases and win where both are set.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from temporalio.envconfig import ClientConfigProfile
from temporalio.service import TLSConfig

from yolobatch.settings import Settings

_QUOTED = re.compile(r"^\s*\d*\s*\|")


class TemporalConfigError(ValueError):
    """The Temporal client settings (environment or config file) cannot be used."""


def connect_config(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`Client.connect` keyword arguments. Without `target_host`, no cluster is configured: the embedded
    server is meant; without `namespace`, `default`. `env` replaces the process environment (tests)."""
    try:
        profile = ClientConfigProfile.load(override_env_vars=env)
        config: dict[str, Any] = dict(profile.to_client_connect_config())
    except (RuntimeError, ValueError, OSError) as exc:
        raise TemporalConfigError(f"Temporal client settings: {_without_quoted_lines(str(exc))}") from None
    if settings.temporal_address:
        config["target_host"] = settings.temporal_address
    if settings.temporal_namespace:
        config["namespace"] = settings.temporal_namespace
    if settings.temporal_api_key is not None:
        config["api_key"] = settings.temporal_api_key.get_secret_value()
    tls = config.get("tls", False)
    if settings.temporal_tls_cert is not None and settings.temporal_tls_key is not None:
        cert, key = settings.temporal_tls_cert.read_bytes(), settings.temporal_tls_key.read_bytes()
        # A server CA or server name from TEMPORAL_TLS_* stays; the aliases give the client pair.
        tls = (
            dataclasses.replace(tls, client_cert=cert, client_private_key=key)
            if isinstance(tls, TLSConfig)
            else TLSConfig(client_cert=cert, client_private_key=key)
        )
    elif settings.temporal_tls and tls is False:
        tls = True
    elif "tls" not in config and "api_key" in config:
        tls = True  # an API key travels only over TLS
    config["tls"] = tls
    return config


def _without_quoted_lines(message: str) -> str:
    """A TOML parse error quotes the offending line of the config file, which may hold an API key: keep
    where it is and what is wrong, never the line itself."""
    kept = [line.strip() for line in message.splitlines() if line.strip() and not _QUOTED.match(line)]
    return " · ".join(kept)
