"""The emulated platform's world: accounts, restaurants, onboarding users, uploads and side effects."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from yolobatch.devtools.sandbox.calls import CallLog
from yolobatch.devtools.sandbox.faults import FaultBook
from yolobatch.devtools.sandbox.idempotency import IdempotencyStore
from yolobatch.devtools.sandbox.menu_model import ImportedMenu
from yolobatch.devtools.sandbox.settings import SandboxSettings


@dataclass
class Account:
    org_id: str
    email: str
    account_id: str
    restaurant_id: str
    phone: str | None

    def view(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "email": self.email,
            "account_id": self.account_id,
            "restaurant_id": self.restaurant_id,
            "phone": self.phone,
        }


@dataclass(frozen=True)
class PlatformRestaurant:
    platform_id: str
    subdomain: str
    name: str


@dataclass
class OnboardingUser:
    org_id: str
    email: str
    name: str
    restaurant_id: str
    onboarding_id: str


@dataclass
class RestaurantRecord:
    """Everything the platform holds for one of our restaurants (one job id within one organisation)."""

    org_id: str
    restaurant_id: str
    platform_restaurants: list[PlatformRestaurant] = field(default_factory=list)
    code_injection_id: str | None = None
    code_injections: int = 0
    website_runs: int = 0
    services_runs: int = 0
    services_enabled: bool = False
    payment_methods: int = 0
    menu_imports: int = 0
    items_without_image: int = 0
    option_sets_created: int = 0
    tags_created: int = 0
    onboarding_updates: int = 0
    onboarding_record: dict[str, Any] | None = None
    cdn_images: dict[str, str] = field(default_factory=dict)  # source URL → CDN URL
    menus: dict[str, ImportedMenu] = field(default_factory=dict)
    last_menu_id: str | None = None

    @property
    def current(self) -> PlatformRestaurant | None:
        """The platform restaurant later scripts act on: the newest, as the original's lookups find it."""
        return self.platform_restaurants[-1] if self.platform_restaurants else None

    def imported_menu(self, menu_id: str | None) -> ImportedMenu | None:
        return self.menus.get(menu_id or self.last_menu_id or "")

    def view(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "platform_restaurants": [p.platform_id for p in self.platform_restaurants],
            "registrations": len(self.platform_restaurants),
            "code_injections": self.code_injections,
            "website_runs": self.website_runs,
            "services_runs": self.services_runs,
            "services_enabled": self.services_enabled,
            "payment_methods": self.payment_methods,
            "menu_imports": self.menu_imports,
            "items_without_image": self.items_without_image,
            "option_sets_created": self.option_sets_created,
            "tags_created": self.tags_created,
            "onboarding_updates": self.onboarding_updates,
            "cdn_images": len(self.cdn_images),
        }


@dataclass
class UploadBatch:
    batch_id: str
    org_id: str
    restaurant_id: str
    menu_id: str
    images: list[str]
    results: list[dict[str, str]] = field(default_factory=list)
    status: str = "processing"

    def view(self) -> dict[str, Any]:
        return {
            "success": True,
            "batchId": self.batch_id,
            "status": self.status,
            "total": len(self.images),
            "uploaded": len(self.results),
            "results": list(self.results),
        }


@dataclass(frozen=True)
class Effect:
    endpoint: str
    org_id: str
    restaurant_id: str
    subject: str  # what a repeat would duplicate: the restaurant, or the email for accounts


# Platform accounts belong to an email, not a restaurant, so their duplicates are counted per email.
ACCOUNT_ENDPOINT = "register-account"


class World:
    """All mutable state of one sandbox; `Sandbox.reset` replaces it wholesale."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        # Handlers sleep between reading and writing state; the lock keeps each write step whole.
        self.lock = asyncio.Lock()
        # Separate streams, so that e.g. an extra jitter draw never shifts which call gets a fault.
        self._jitter_rng = random.Random(f"{settings.seed}:jitter")
        self._id_rng = random.Random(f"{settings.seed}:ids")
        self._issued_ids: set[str] = set()
        self.calls = CallLog()
        self.faults = FaultBook(settings, random.Random(f"{settings.seed}:faults"))
        self.idempotency = IdempotencyStore()
        self.accounts: list[Account] = []
        self.restaurants: dict[tuple[str, str], RestaurantRecord] = {}
        self.onboarding_users: dict[tuple[str, str], OnboardingUser] = {}
        self.upload_batches: dict[str, UploadBatch] = {}
        self.effects: list[Effect] = []
        # The original contract's restaurants, keyed by (organisation, the platform's restaurant id).
        self.seeded: dict[tuple[str, str], Any] = {}
        self._background: set[asyncio.Task[None]] = set()

    def latency(self, nominal_seconds: float) -> float:
        spread = self._jitter_rng.uniform(-self.settings.jitter, self.settings.jitter)
        return max(0.0, nominal_seconds * self.settings.time_scale * (1 + spread))

    def new_id(self, prefix: str, hex_digits: int = 8) -> str:
        while True:
            candidate = f"{prefix}{self._id_rng.getrandbits(4 * hex_digits):0{hex_digits}x}"
            if candidate not in self._issued_ids:
                self._issued_ids.add(candidate)
                return candidate

    def restaurant(self, org_id: str, restaurant_id: str) -> RestaurantRecord | None:
        return self.restaurants.get((org_id, restaurant_id))

    def ensure_restaurant(self, org_id: str, restaurant_id: str) -> RestaurantRecord:
        key = (org_id, restaurant_id)
        if key not in self.restaurants:
            self.restaurants[key] = RestaurantRecord(org_id, restaurant_id)
        return self.restaurants[key]

    def find_account(self, org_id: str, email: str) -> Account | None:
        wanted = email.lower()
        return next((a for a in self.accounts if a.org_id == org_id and a.email.lower() == wanted), None)

    def add_account(self, org_id: str, email: str, restaurant_id: str, phone: str | None) -> Account:
        account = Account(org_id, email, self.new_id("ACC"), restaurant_id, phone)
        self.accounts.append(account)
        return account

    def onboarding_user(self, org_id: str, email: str) -> OnboardingUser | None:
        return self.onboarding_users.get((org_id, email.lower()))

    def add_onboarding_user(self, org_id: str, email: str, name: str, restaurant_id: str) -> OnboardingUser:
        user = OnboardingUser(org_id, email, name, restaurant_id, self.new_id("ONB", 12))
        self.onboarding_users[(org_id, email.lower())] = user
        return user

    def new_upload_batch(
        self, org_id: str, restaurant_id: str, menu_id: str, images: list[str]
    ) -> UploadBatch:
        batch = UploadBatch(self.new_id("batch_", 12), org_id, restaurant_id, menu_id, list(images))
        self.upload_batches[batch.batch_id] = batch
        return batch

    def record_effect(
        self, endpoint: str, org_id: str, restaurant_id: str, subject: str | None = None
    ) -> None:
        self.effects.append(Effect(endpoint, org_id, restaurant_id, subject or restaurant_id))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; the task is referenced so it is neither collected nor orphaned."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def close(self) -> None:
        for task in list(self._background):
            task.cancel()

    def snapshot(self) -> dict[str, Any]:
        return {
            "accounts": [account.view() for account in self.accounts],
            "restaurants": self._restaurant_views(),
            "onboarding_users": [user.email for user in self.onboarding_users.values()],
            "side_effects": dict(Counter(effect.endpoint for effect in self.effects)),
            "duplicates": self._duplicates(),
            "max_in_flight": self.calls.max_in_flight,
            "max_in_flight_by_endpoint": dict(self.calls.max_in_flight_by_endpoint),
            "in_flight": self.calls.in_flight,
        }

    def _restaurant_views(self) -> dict[str, dict[str, Any]]:
        # Keyed by restaurantId (our job ids are globally unique); should two organisations ever use
        # the same id, both are shown as "<org>/<id>" rather than one silently hiding the other.
        orgs_per_id = Counter(restaurant_id for _, restaurant_id in self.restaurants)
        return {
            (restaurant_id if orgs_per_id[restaurant_id] == 1 else f"{org_id}/{restaurant_id}"): record.view()
            for (org_id, restaurant_id), record in self.restaurants.items()
        }

    def _duplicates(self) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str, str], list[Effect]] = defaultdict(list)
        for effect in self.effects:
            groups[(effect.org_id, effect.endpoint, effect.subject)].append(effect)
        duplicates = []
        for (org_id, endpoint, subject), effects in groups.items():
            if len(effects) < 2:
                continue
            entry = {"restaurant_id": effects[0].restaurant_id, "endpoint": endpoint, "count": len(effects)}
            if endpoint == ACCOUNT_ENDPOINT:
                entry["email"] = subject
            duplicates.append({**entry, "org_id": org_id})
        return duplicates


class Sandbox:
    """One emulated platform, hung on `app.state.sandbox`: settings plus the current world."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.world = World(settings)

    def reset(self) -> None:
        # Requests still running keep the world they started in, so they cannot leak into the new one.
        previous, self.world = self.world, World(self.settings)
        previous.close()
