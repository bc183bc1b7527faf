"""An organisation's defaults: its country (phone numbers written without a country code), currency,
locale and time zone. A restaurant's own values win over its batch's defaults, which win over these."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class OrgDefaults(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "example": {
                "country": "NZ",
                "currency": "NZD",
                "locale": "en-NZ",
                "time_zone": "Pacific/Auckland",
            }
        },
    )

    country: str | None = Field(default=None, description="ISO 3166 code, e.g. NZ", examples=["NZ"])
    currency: str | None = Field(default=None, description="ISO 4217 code, e.g. NZD", examples=["NZD"])
    locale: str | None = Field(default=None, description="language-REGION, e.g. en-NZ", examples=["en-NZ"])
    time_zone: str | None = Field(
        default=None, description="IANA zone, e.g. Pacific/Auckland", examples=["Pacific/Auckland"]
    )

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a country code like NZ, AU or GB")
        return code

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError(f"{value!r} is not a currency code like NZD")
        return value.upper() if value else value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        match = re.fullmatch(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?", value) if value else None
        if value is not None and not match:
            raise ValueError(f"{value!r} is not a locale like en-NZ")
        if match is None:
            return value
        language, region = match.groups()
        return language.lower() + (f"-{region.upper()}" if region else "")

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in _zones():
            raise ValueError(f"{value!r} is not a time zone like Pacific/Auckland")
        return value
