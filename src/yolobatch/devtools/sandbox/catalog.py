"""The operations the sandbox emulates and their nominal (unscaled) latencies (the original's)."""

from __future__ import annotations

from typing import Final

NOMINAL_SECONDS: Final[dict[str, float]] = {
    "register-account": 6.0,
    "generate-code-injections": 47.0,
    "create-onboarding-user": 37.0,
    "upload-images": 2.5,
    "register-restaurant": 99.0,
    "configure-website": 200.0,
    "configure-services": 120.0,
    "configure-payment": 80.0,
    "import-menu-direct": 88.0,
    "update-onboarding-record": 34.0,
    "add-option-sets": 5.0,  # minimum; 3 s per option set otherwise
    "add-item-tags": 30.0,  # plus 1 s per tagged item
}
OPTION_SET_SECONDS: Final = 3.0
TAGGED_ITEM_SECONDS: Final = 1.0
IMAGE_UPLOAD_SECONDS: Final = 0.5

OPERATIONS: Final = frozenset(NOMINAL_SECONDS)

# Company registry lookups (sandbox/registry_api.py): read-only, so only scripted faults reach them.
REGISTRY_ENDPOINTS: Final = frozenset(
    {"nzbn-search", "nzbn-entity", "ch-search", "ch-company", "ch-officers"}
)
REGISTRY_NOMINAL_SECONDS: Final = 0.4

# Restaurant store pages for extraction (sandbox/store_pages.py): like the registries, scripted faults only.
# "store-item" is Uber Eats' per-item option groups (`POST /_p/api/getMenuItemV1`).
STORE_PAGE_ENDPOINTS: Final = frozenset({"store-page", "store-logo", "store-item"})

ADMIN_URL: Final = "https://admin.pumpd.co.nz"
CDN_URL: Final = "https://ucarecdn.com"
