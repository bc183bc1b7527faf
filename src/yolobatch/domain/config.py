"""The registration configuration (the original's `execution_config` / `YoloModeFormData`).

Keys use the original's camelCase spelling on the wire (aliases) and snake_case in Python. Secrets are
`SecretStr`, so printing or dumping a config never shows them; the store encrypts them at rest.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from yolobatch.domain.image_urls import check_image_url
from yolobatch.domain.plan import SubStep

HEX_COLOUR = r"^#[0-9A-Fa-f]{6}$"
ColourKeyword = Literal["white", "black", "primary", "secondary", "custom", "auto"]
TintKeyword = Literal["none", "white", "black", "primary", "secondary", "custom"]
HeaderImageSource = Literal[
    "website_og_image", "facebook_cover_image", "ubereats_og_image", "doordash_og_image"
]


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        str_strip_whitespace=True,
    )


Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)


class OpeningHours(_Section):
    day: Weekday
    open: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    close: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class AccountSection(_Section):
    register_new_user: bool = True
    email: EmailStr
    password: SecretStr
    phone: str | None = None

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < 8:
            raise ValueError("password must be at least 8 characters")
        return value


class RestaurantSection(_Section):
    registration_mode: Literal[
        "existing_account_first_restaurant", "existing_account_additional_restaurant"
    ] = "existing_account_first_restaurant"
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    subdomain: str | None = Field(default=None, pattern=r"^[a-z0-9-]{3,63}$")
    opening_hours: list[OpeningHours] = Field(default_factory=list)


class MenuSection(_Section):
    selected_menu_id: str | None = None
    upload_images: bool = True
    add_option_sets: bool = True
    add_item_tags: bool = True


class WebsiteSection(_Section):
    theme: Literal["dark", "light"] = "dark"
    cuisines: list[str] = Field(default_factory=list)
    primary_color: str | None = Field(default=None, pattern=HEX_COLOUR)
    secondary_color: str | None = Field(default=None, pattern=HEX_COLOUR)
    disable_gradients: bool = False
    configure_header: bool = False
    header_image_source: HeaderImageSource = "website_og_image"
    header_logo_dark_tint: TintKeyword = "none"
    header_logo_light_tint: TintKeyword = "none"
    nav_logo_dark_tint: TintKeyword = "none"
    nav_logo_light_tint: TintKeyword = "none"
    nav_text_color: ColourKeyword = "white"
    card_text_color: ColourKeyword = "white"
    item_layout: Literal["list", "card"] = "card"
    # The images themselves (step 1 found them): the platform cannot read our database for them.
    logo_url: str | None = Field(default=None, max_length=2000)
    favicon_url: str | None = Field(default=None, max_length=2000)
    header_image_url: str | None = Field(default=None, max_length=2000)

    @field_validator("logo_url", "favicon_url", "header_image_url")
    @classmethod
    def _public_image(cls, value: str | None) -> str | None:
        # The platform fetches these: the same rule as the payload builders, reported at input time.
        return check_image_url(value) if value else value


class PaymentSection(_Section):
    include_stripe_link: bool = False


class OnboardingSection(_Section):
    create_onboarding_user: bool = True
    sync_onboarding_record: bool = True
    user_name: str | None = None
    user_email: EmailStr | None = None
    user_password: SecretStr | None = None

    @model_validator(mode="after")
    def _user_needs_name_and_email(self) -> OnboardingSection:
        if self.create_onboarding_user and not (self.user_name and self.user_email):
            raise ValueError("onboarding.userName and onboarding.userEmail are required to create the user")
        return self


class CompanySection(_Section):
    """What steps 2-4 learned about the company behind the restaurant (all optional)."""

    legal_name: str | None = Field(default=None, max_length=300)
    company_number: str | None = Field(default=None, max_length=40)
    nzbn: str | None = Field(default=None, max_length=40)
    gst_number: str | None = Field(default=None, max_length=40)
    director_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)


# The original platform's own ids: opaque to us, so only their shape is checked.
PLATFORM_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class RegistrationConfig(_Section):
    """Everything step 6 needs to register one restaurant on the platform."""

    account: AccountSection
    restaurant: RestaurantSection
    menu: MenuSection = Field(default_factory=MenuSection)
    website: WebsiteSection = Field(default_factory=WebsiteSection)
    payment: PaymentSection = Field(default_factory=PaymentSection)
    onboarding: OnboardingSection = Field(
        default_factory=lambda: OnboardingSection(create_onboarding_user=False, sync_onboarding_record=False)
    )
    company: CompanySection = Field(default_factory=CompanySection)
    steps_enabled: dict[SubStep, bool] = Field(default_factory=dict)
    # Only the `original` platform adapter needs these: that service looks everything up by its own ids.
    platform_restaurant_id: str | None = Field(
        default=None,
        pattern=PLATFORM_ID,
        description="the original platform's restaurant id (letters, digits, _ . : -; at most 128)",
    )
    platform_menu_id: str | None = Field(
        default=None,
        pattern=PLATFORM_ID,
        description="the original platform's menu id (letters, digits, _ . : -; at most 128)",
    )

    def secrets(self) -> list[str]:
        """Clear-text secrets in this config, for redaction of anything derived from it."""
        found = [self.account.password.get_secret_value()]
        if self.onboarding.user_password is not None:
            found.append(self.onboarding.user_password.get_secret_value())
        return [s for s in found if s]

    def to_wire(self) -> dict:
        """The config as JSON with the original's camelCase keys and secrets in clear (for the store only)."""
        data = self.model_dump(mode="json", by_alias=True)
        data["account"]["password"] = self.account.password.get_secret_value()
        if self.onboarding.user_password is not None:
            data["onboarding"]["userPassword"] = self.onboarding.user_password.get_secret_value()
        return data

    def to_public(self) -> dict:
        """The config as JSON with secrets masked: safe for APIs, logs and the dashboard."""
        data = self.model_dump(mode="json", by_alias=True)
        data["account"]["password"] = "********"
        if self.onboarding.user_password is not None:
            data["onboarding"]["userPassword"] = "********"
        return data


def config_fields() -> dict[str, frozenset[str]]:
    """Every editable `section.field` of a config, in the wire spelling: section -> its fields."""
    fields: dict[str, frozenset[str]] = {}
    for name, info in RegistrationConfig.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, _Section):
            fields[to_camel(name)] = frozenset(to_camel(f) for f in model.model_fields)
    fields["stepsEnabled"] = frozenset(step.value for step in SubStep)
    return fields
