"""A restaurant's outputs from step 6, as the operator uses them (issue 15): ids, links and logins to
hand on. Never a password: that stays sealed with the config and is read only on purpose, audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True, slots=True)
class Outputs:
    """One restaurant's outputs; None: not produced (yet)."""

    platform_restaurant_id: str | None = None
    subdomain: str | None = None
    demo_store_url: str | None = None
    dashboard_url: str | None = None
    stripe_connect_url: str | None = None
    account_email: str | None = None
    account_id: str | None = None
    onboarding_user_id: str | None = None
    onboarding_user_email: str | None = None
    logo_url: str | None = None

    def present(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value is not None}


OUTPUT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Outputs))
