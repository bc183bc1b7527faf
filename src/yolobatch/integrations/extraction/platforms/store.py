"""What a platform's page state says about the store itself (not its menu)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoreFacts:
    cover_image_url: str | None = None
    logo_url: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    # The store as a schema.org node where the platform embeds one (Uber Eats `metaJson`): hours, phone.
    business: dict[str, Any] = field(default_factory=dict)
