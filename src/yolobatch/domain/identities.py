"""What makes two rows the same restaurant: its store URL, its company number or its account email.

The same restaurant uploaded in two batches of one organisation would be registered twice (two platform
accounts, two websites), so an upload is checked against every restaurant of the organisation that is
registered or still in flight. Each key is normalised so that spelling differences staff make (scheme,
`www.`, case, a trailing slash, spaces in a company number) do not hide a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from yolobatch.domain.batch_input import RestaurantInput


class IdentityKind(StrEnum):
    STORE_URL = "store_url"
    COMPANY_NUMBER = "company_number"
    ACCOUNT_EMAIL = "account_email"


LABELS = {
    IdentityKind.STORE_URL: "store URL",
    IdentityKind.COMPANY_NUMBER: "company number",
    IdentityKind.ACCOUNT_EMAIL: "account email",
}

MAX_KEY = 500  # the column's width: longer keys are cut (a URL that long is unique well before that)


def store_url_key(url: str) -> str:
    """`https://www.Example.com/store/` and `http://example.com/store` are one store."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    query = f"?{parts.query}" if parts.query else ""  # some platforms name the store in the query
    return f"{host}{port}{path}{query}"[:MAX_KEY]


def company_number_key(number: str) -> str:
    return re.sub(r"[\s\-./]", "", number).upper()[:MAX_KEY]


def email_key(email: str) -> str:
    return email.strip().lower()[:MAX_KEY]


def identity_keys(restaurant: RestaurantInput) -> list[tuple[IdentityKind, str]]:
    """The restaurant's keys, each kind at most once; rows without any have none."""
    config = restaurant.config
    url = str(restaurant.store_url) if restaurant.store_url else None
    number = restaurant.company_number or (config.company.company_number if config else None)
    email = str(config.account.email) if config else restaurant.email
    keys: list[tuple[IdentityKind, str]] = []
    if url:
        keys.append((IdentityKind.STORE_URL, store_url_key(url)))
    if number and company_number_key(number):
        keys.append((IdentityKind.COMPANY_NUMBER, company_number_key(number)))
    if email:
        keys.append((IdentityKind.ACCOUNT_EMAIL, email_key(email)))
    return [(kind, value) for kind, value in keys if value]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row of the upload that is already a restaurant of another batch of the organisation."""

    row: int  # 1-based, in the upload's order
    name: str
    kind: IdentityKind
    value: str
    batch_id: str
    batch_name: str
    job_id: str
    restaurant_name: str
    status: str  # the other restaurant's: registered (completed) or still in flight

    def describe(self) -> str:
        return (
            f"row {self.row} ({self.name}): same {LABELS[self.kind]} {self.value!r} as "
            f"{self.restaurant_name!r} ({self.status}) in batch {self.batch_name!r} ({self.batch_id})"
        )


class DuplicateRestaurants(Exception):
    """An upload names restaurants the organisation already registers; nothing was created."""

    def __init__(self, duplicates: list[Duplicate]) -> None:
        self.duplicates = duplicates
        shown = "; ".join(d.describe() for d in duplicates[:20])
        more = f"; and {len(duplicates) - 20} more" if len(duplicates) > 20 else ""
        super().__init__(
            f"{len(duplicates)} restaurant(s) already in another batch of this organisation: {shown}{more}. "
            "Nothing was created; to upload them anyway, force it (--force, force=true)."
        )
