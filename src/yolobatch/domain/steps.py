"""The six steps of onboarding one restaurant: the one table of their numbers, keys and titles.

Keys are the names the workflow, events and decisions use (`config_approve`, `POST .../steps/extraction`);
titles are what people read. Step 6's twelve calls are `domain/plan.py`'s `PLAN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Step(IntEnum):
    EXTRACTION = 1
    COMPANY_SEARCH = 2
    COMPANY_SELECTION = 3
    COMPANY_DETAILS = 4
    CONFIG = 5
    REGISTRATION = 6


@dataclass(frozen=True, slots=True)
class StepSpec:
    number: Step
    key: str
    title: str


STEPS: tuple[StepSpec, ...] = (
    StepSpec(Step.EXTRACTION, "extraction", "Menu & branding"),
    StepSpec(Step.COMPANY_SEARCH, "companySearch", "Company search"),
    StepSpec(Step.COMPANY_SELECTION, "companySelection", "Company choice"),
    StepSpec(Step.COMPANY_DETAILS, "companyDetails", "Company details"),
    StepSpec(Step.CONFIG, "config", "Config review"),
    StepSpec(Step.REGISTRATION, "registration", "Registration"),
)
BY_NUMBER: dict[int, StepSpec] = {spec.number: spec for spec in STEPS}
PIPELINE_STEPS = tuple(spec for spec in STEPS if spec.number < Step.REGISTRATION)
"""Steps 1-5, run by the workflow's pipeline before the registration calls."""
STEP_KEYS: dict[int, str] = {spec.number: spec.key for spec in PIPELINE_STEPS}
STEP_BY_KEY: dict[str, int] = {spec.key: spec.number for spec in PIPELINE_STEPS}
STEP_TITLES: dict[int, str] = {spec.number: spec.title for spec in STEPS}
