"""What every request handler needs: the store, the Temporal client, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from temporalio.client import Client

from yolobatch.http.ratelimit import AuthFailureLimit
from yolobatch.settings import Settings
from yolobatch.store.repository import Store


@dataclass
class AppContext:
    settings: Settings
    store: Store
    client: Client
    sandbox_url: str | None = None  # set when `yolobatch up --sandbox` mounted the sandbox
    auth_failures: AuthFailureLimit = field(default_factory=AuthFailureLimit)


def context(request: Request) -> AppContext:
    return request.app.state.context
