"""The vocabulary's one home: steps, statuses, the batch status derived from restaurants', labels."""

from collections import Counter

import pytest

from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import BatchStatus, JobStatus, batch_status
from yolobatch.domain.steps import PIPELINE_STEPS, STEP_BY_KEY, STEP_KEYS, STEPS, Step


@pytest.mark.parametrize(
    ("statuses", "started", "expected"),
    [
        ([JobStatus.PENDING], False, BatchStatus.DRAFT),
        ([JobStatus.COMPLETED, JobStatus.RUNNING], True, BatchStatus.RUNNING),
        (
            [JobStatus.COMPLETED, JobStatus.ACTION_REQUIRED, JobStatus.CANCELLED],
            True,
            BatchStatus.ACTION_REQUIRED,
        ),
        ([JobStatus.COMPLETED, JobStatus.COMPLETED], True, BatchStatus.COMPLETED),
        ([JobStatus.CANCELLED, JobStatus.CANCELLED], True, BatchStatus.CANCELLED),
        ([JobStatus.COMPLETED, JobStatus.CANCELLED], True, BatchStatus.COMPLETED_WITH_CANCELLATIONS),
    ],
)
def test_batch_status_is_derived_from_its_restaurants(
    statuses: list[JobStatus], started: bool, expected: BatchStatus
) -> None:
    counts = Counter(str(s) for s in statuses)
    assert batch_status(counts, started=started, total=len(statuses)) == expected


def test_one_table_of_steps() -> None:
    assert [spec.number for spec in STEPS] == list(range(1, 7))
    assert [spec.number for spec in PIPELINE_STEPS] == [1, 2, 3, 4, 5]
    assert STEP_BY_KEY["companySelection"] == Step.COMPANY_SELECTION == 3
    assert {STEP_BY_KEY[key] for key in STEP_KEYS.values()} == set(STEP_KEYS)
    assert str(Step.CONFIG) == "5"  # the read model's JSON keys steps by their number's text


def test_every_call_has_its_endpoint_and_labels() -> None:
    assert len({spec.endpoint for spec in PLAN}) == len(PLAN)
    assert all(spec.endpoint.startswith("/api/") and spec.label for spec in PLAN)
    assert all(0 < len(spec.short) <= 4 for spec in PLAN)  # the CLI's live view fits 80 columns


def test_a_call_of_the_plan_is_known_everywhere_it_must_be() -> None:
    """A 13th call is one PLAN entry plus its own code: these per-call tables and both contracts' request
    builders must cover exactly the plan's calls, so one forgotten is a failure here, never a silent gap."""
    from yolobatch.integrations.registration.conformance import REQUIRED_FIELDS, synthetic_restaurant
    from yolobatch.integrations.registration.original_payloads import build_original_request
    from yolobatch.integrations.registration.payloads import CONTEXT_FIELDS, ENDPOINTS, build_request
    from yolobatch.integrations.registration.port import SERVICE_LIMIT_SECONDS, call_timeout

    keys = {spec.key for spec in PLAN}
    assert set(REQUIRED_FIELDS) == set(ENDPOINTS) == set(SERVICE_LIMIT_SECONDS) == keys
    assert set(CONTEXT_FIELDS) <= keys
    config, menu = synthetic_restaurant("RES1", "MENU1")
    context = {name: "x" for names in CONTEXT_FIELDS.values() for name in names} | {"filePaths": ["a.js"]}
    for spec in PLAN:
        ours = build_request(spec.key, "RES1", config, menu, context)
        theirs = build_original_request(spec.key, config, context)
        assert ours.path == ENDPOINTS[spec.key].replace("{menu_id}", str(config.menu.selected_menu_id))
        assert theirs.path == spec.endpoint.replace("{menu_id}", "MENU1")
        assert call_timeout(spec.key) > (spec.service_limit_seconds or 0)
