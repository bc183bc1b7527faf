"""What waits for a person (service/inbox.py) against a real database: the right items in the dashboard's
order, read with the same number of queries however many batches and restaurants wait (not N+1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.conftest import batch_of, make_store
from yolobatch.devtools.demo import demo_pipeline_batch
from yolobatch.domain.batch_input import parse_batch
from yolobatch.domain.statuses import JobStatus
from yolobatch.service.inbox import inbox, waiting
from yolobatch.store.repository import Store

ORG = "org-inbox"
CANDIDATE = {
    "number": "9429041000038",
    "name": "PIZZA PALACE LIMITED",
    "score": 71.0,
    "address": "Wellington",
}


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)


def _waiting_batch(store: Store, restaurants: int) -> list[str]:
    """A started pipeline batch whose restaurants wait: the first for a company, the second with a failed
    extraction, the rest for their config; a ready-config batch's restaurant with a failed call."""
    data = demo_pipeline_batch(restaurants, "http://127.0.0.1:9")
    batch_id = store.create_batch(ORG, f"pipeline {restaurants}", parse_batch(json.dumps(data)).restaurants)
    store.mark_batch_started(batch_id)
    jobs = [job.job_id for job in store.batch_progress(batch_id).jobs]
    for index, job_id in enumerate(jobs):
        store.record_job(job_id, JobStatus.ACTION_REQUIRED, "Waiting for a person")
        if index == 0:
            store.save_candidates(job_id, [CANDIDATE])
            store.record_step(job_id, 3, "action_required", reason="Choose the company")
        elif index == 1:
            store.record_step(job_id, 1, "failed", error="store page unreachable")
        else:
            store.save_config_draft(job_id, batch_of(1).restaurants[0].config.to_wire())
            store.record_step(job_id, 5, "action_required", reason="Review the config")
    return jobs


def _failed_call(store: Store) -> str:
    batch_id = store.create_batch(ORG, "ready", batch_of(1).restaurants)
    store.mark_batch_started(batch_id)
    [job_id] = [job.job_id for job in store.batch_progress(batch_id).jobs]
    store.record_job(job_id, JobStatus.ACTION_REQUIRED, "Waiting for a person")
    store.record_sub_step(job_id, "paymentConfig", "failed", 0, error="HTTP 400")
    store.record_sub_step(job_id, "menuImport", "outcome_unknown", 0, error="no answer")
    return job_id


def test_every_waiting_item_in_order_with_what_it_shows(tmp_path):
    store = make_store("sqlite", tmp_path)
    store.ensure_org(ORG)
    company, extraction, config = _waiting_batch(store, 3)
    call = _failed_call(store)

    items = waiting(store, ORG)

    # The restaurant with a failure first (as the dashboard's "failed" filter), then those waiting for a
    # choice in input order; the later batch after; a restaurant's calls in plan order.
    assert [(i.kind, i.job_id) for i in items] == [
        ("failed_step", extraction),
        ("company", company),
        ("config", config),
        ("failed_call", call),
        ("outcome_unknown", call),
    ]
    by_kind = {i.kind: i for i in items}
    assert (
        by_kind["failed_step"].step == "extraction"
        and by_kind["failed_step"].reason == "store page unreachable"
    )
    assert by_kind["company"].candidates == [CANDIDATE] and by_kind["company"].reason == "Choose the company"
    review = by_kind["config"].config
    assert review is not None and review.version == 1 and by_kind["config"].errors == []
    assert review.config["account"]["email"] and not review.config["account"]["password"].endswith("789!")
    assert by_kind["failed_call"].step == "paymentConfig" and by_kind["failed_call"].reason == "HTTP 400"
    assert by_kind["outcome_unknown"].step == "menuImport"

    page = inbox(store, ORG, kind="config")
    assert [i.job_id for i in page.items] == [config]
    assert page.kinds == {"failed_step": 1, "company": 1, "config": 1, "failed_call": 1, "outcome_unknown": 1}


def test_the_inbox_reads_in_as_many_queries_for_one_restaurant_as_for_many(tmp_path):
    store = make_store("sqlite", tmp_path)
    store.ensure_org(ORG)
    _waiting_batch(store, 3)
    _failed_call(store)
    with counting(store) as few:
        assert len(waiting(store, ORG)) == 5
    for _ in range(3):
        _waiting_batch(store, 6)
        _failed_call(store)
    with counting(store) as many:
        assert len(waiting(store, ORG)) == 5 + 3 * (6 + 2)
    # The waiting steps and calls, the candidates, the configs and their revision counts.
    assert len(few) == len(many) == 4, many
