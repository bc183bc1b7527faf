"""The step-6 plan: the 12 platform sub-steps, their true dependencies and their run/skip rules.

Pure data and functions: the workflow imports this module, so it must stay deterministic and free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any


class SubStep(StrEnum):
    """The 12 registration sub-steps, spelled as the original system spells them."""

    CLOUDWAITRESS_ACCOUNT = "cloudwaitressAccount"
    CODE_GENERATION = "codeGeneration"
    CREATE_ONBOARDING_USER = "createOnboardingUser"
    UPLOAD_IMAGES = "uploadImages"
    RESTAURANT_REGISTRATION = "restaurantRegistration"
    WEBSITE_CONFIG = "websiteConfig"
    SERVICES_CONFIG = "servicesConfig"
    PAYMENT_CONFIG = "paymentConfig"
    MENU_IMPORT = "menuImport"
    SYNC_ONBOARDING_USER = "syncOnboardingUser"
    OPTION_SETS = "optionSets"
    ITEM_TAGS = "itemTags"


class CallClass(StrEnum):
    """Which capacity a call consumes; each class has its own task queue and limits."""

    ACCOUNTS = "accounts"  # platform-wide rate limit (default 1 per 60 s)
    PLATFORM = "platform"  # global concurrency cap (browser-driven portal calls)


@dataclass(frozen=True)
class SubStepSpec:
    key: SubStep
    needs: tuple[SubStep, ...]
    call_class: CallClass
    nominal_seconds: float  # the original system's observed duration of the call
    # The original service's own limit for the call (None: it has none); our timeout is a margin over it
    # (integrations/registration/port.py `call_timeout`), so the service gives up and answers first.
    service_limit_seconds: float | None
    endpoint: str  # the platform's path for it ({menu_id}: the menu the images belong to)
    label: str  # the dashboard grid's column heading
    short: str  # the CLI live view's column heading (at most 4 characters)


S = SubStep
A, P = CallClass.ACCOUNTS, CallClass.PLATFORM
R = "/api/registration/"
# Order is topological: the workflow creates one task per sub-step in this order.
PLAN: tuple[SubStepSpec, ...] = (
    SubStepSpec(S.CLOUDWAITRESS_ACCOUNT, (), A, 6, None, R + "register-account", "Account", "acct"),
    SubStepSpec(S.CODE_GENERATION, (), P, 47, 120, R + "generate-code-injections", "Code", "code"),
    SubStepSpec(S.CREATE_ONBOARDING_USER, (), P, 37, 120, R + "create-onboarding-user", "Onb. user", "user"),
    SubStepSpec(S.UPLOAD_IMAGES, (), P, 2.5, None, "/api/menus/{menu_id}/upload-images", "Images", "img"),
    SubStepSpec(
        S.RESTAURANT_REGISTRATION,
        (S.CLOUDWAITRESS_ACCOUNT,),
        P,
        99,
        180,
        R + "register-restaurant",
        "Restaurant",
        "reg",
    ),
    SubStepSpec(
        S.WEBSITE_CONFIG,
        (S.RESTAURANT_REGISTRATION, S.CODE_GENERATION),
        P,
        200,
        240,
        R + "configure-website",
        "Website",
        "web",
    ),
    SubStepSpec(
        S.SERVICES_CONFIG,
        (S.RESTAURANT_REGISTRATION,),
        P,
        120,
        180,
        R + "configure-services",
        "Services",
        "svc",
    ),
    SubStepSpec(
        S.PAYMENT_CONFIG, (S.RESTAURANT_REGISTRATION,), P, 80, 180, R + "configure-payment", "Payment", "pay"
    ),
    SubStepSpec(
        S.MENU_IMPORT,
        (S.RESTAURANT_REGISTRATION, S.UPLOAD_IMAGES),
        P,
        88,
        120,
        R + "import-menu-direct",
        "Menu",
        "menu",
    ),
    SubStepSpec(
        S.SYNC_ONBOARDING_USER,
        (S.RESTAURANT_REGISTRATION, S.CREATE_ONBOARDING_USER, S.PAYMENT_CONFIG, S.WEBSITE_CONFIG),
        P,
        34,
        None,
        R + "update-onboarding-record",
        "Sync user",
        "sync",
    ),
    SubStepSpec(S.OPTION_SETS, (S.MENU_IMPORT,), P, 300, 3600, R + "add-option-sets", "Option sets", "opts"),
    SubStepSpec(S.ITEM_TAGS, (S.MENU_IMPORT,), P, 120, 3600, R + "add-item-tags", "Tags", "tags"),
)
SPECS: dict[SubStep, SubStepSpec] = {spec.key: spec for spec in PLAN}


def dependents(key: SubStep) -> list[SubStep]:
    """Sub-steps that need `key` directly."""
    return [spec.key for spec in PLAN if key in spec.needs]


def all_dependents(key: SubStep) -> list[SubStep]:
    """Sub-steps that need `key` directly or transitively, in plan order."""
    found: set[SubStep] = set()
    frontier = [key]
    while frontier:
        for child in dependents(frontier.pop()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return [spec.key for spec in PLAN if spec.key in found]


@cache
def remaining_path_seconds(key: SubStep) -> float:
    """Longest nominal duration from the start of `key` to the end of the graph (critical-path length)."""
    tail = max((remaining_path_seconds(child) for child in dependents(key)), default=0.0)
    return SPECS[key].nominal_seconds + tail


def priority_key(key: SubStep) -> int:
    """Temporal priority (1 = most urgent .. 5): sub-steps with the longest remaining path go first."""
    longest = max(remaining_path_seconds(spec.key) for spec in PLAN)
    share = remaining_path_seconds(key) / longest
    return 1 + min(4, int((1 - share) * 5))


@dataclass(frozen=True)
class Outcome:
    """How a settled dependency ended, as the run rules need to know it."""

    status: str  # "completed" | "skipped"
    result: dict[str, Any]


def skip_reason(key: SubStep, config: dict[str, Any], deps: dict[SubStep, Outcome]) -> str | None:
    """Why `key` must be skipped, or None when it should run.

    `config` is the registration config as wire JSON (camelCase, secrets irrelevant here); `deps` holds the
    settled outcome of each of the sub-step's dependencies. Rules are the original's, except that option
    sets and item tags need a menu import that really succeeded (a `success:false` body is a failure).
    """
    if config.get("stepsEnabled", {}).get(key.value) is False:
        return "Disabled in config"
    account, menu, onboarding = config["account"], config.get("menu", {}), config.get("onboarding", {})

    def done(dep: SubStep) -> bool:
        return deps[dep].status == "completed"

    match key:
        case S.CLOUDWAITRESS_ACCOUNT if account.get("registerNewUser") is False:
            return "Account registration disabled"
        case S.CREATE_ONBOARDING_USER if not onboarding.get("createOnboardingUser"):
            return "Onboarding user creation disabled"
        case S.UPLOAD_IMAGES if not (menu.get("selectedMenuId") and menu.get("uploadImages")):
            return "No menu selected or image upload disabled"
        case S.WEBSITE_CONFIG if not done(S.CODE_GENERATION):
            return "Code generation failed or no filePaths"
        case S.MENU_IMPORT if not menu.get("selectedMenuId"):
            return "No menu selected"
        case S.SYNC_ONBOARDING_USER if not (
            onboarding.get("syncOnboardingRecord") and done(S.CREATE_ONBOARDING_USER)
        ):
            return "Onboarding sync disabled or user not created"
        case S.OPTION_SETS if not menu.get("addOptionSets"):
            return "Option sets disabled"
        case S.ITEM_TAGS if not menu.get("addItemTags"):
            return "Item tags disabled"
        case S.OPTION_SETS | S.ITEM_TAGS if not done(S.MENU_IMPORT):
            return "Menu import failed or skipped"
    return None
