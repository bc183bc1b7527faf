"""Honest waiting (issue 17, item 11): the lower bound on a batch's wall time from counts, account interval
and cap; the benchmark's bound is the same function; the dashboard's batch page says it up front."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import batch_of
from tests.test_api_problems import without_engine
from tests.web_helpers import open_session
from yolobatch.devtools import bench
from yolobatch.devtools.demo import demo_batch
from yolobatch.domain import pace
from yolobatch.domain.batch_input import parse_batch
from yolobatch.domain.plan import PLAN

ALL = {spec.key.value: 1 for spec in PLAN}


def _all_pending(n: int) -> dict[str, int]:
    return {key: n for key in ALL}


def test_ten_new_accounts_at_one_a_minute_take_at_least_nine_minutes() -> None:
    bound, accounts = pace.remaining_from_counts(
        10, _all_pending(10), cap=40, account_interval=60, time_scale=1
    )
    assert accounts == 10 and bound.limit == "account gate"
    # 9 intervals, then the last account and everything that must follow it.
    assert bound.account_chain == 9 * 60 + pace.longest_path(
        {s.key: s.nominal_seconds for s in PLAN}, pace.ACCOUNT
    )
    assert pace.headline(bound, accounts, 60, 40) == "10 new accounts at 1 per minute: at least 9 minutes"


def test_the_cap_is_named_when_it_sets_the_pace_and_nothing_when_one_restaurant_alone() -> None:
    bound, accounts = pace.remaining_from_counts(
        10, _all_pending(10), cap=2, account_interval=6, time_scale=1
    )
    assert bound.limit == "platform cap" and bound.seconds == bound.work_over_cap
    assert pace.headline(bound, accounts, 6, 2).startswith("10 new accounts at 10 per minute")
    assert "platform calls at most 2 at a time: at least" in pace.headline(bound, accounts, 6, 2)
    alone, one = pace.remaining_from_counts(1, _all_pending(1), cap=8, account_interval=60, time_scale=1)
    assert alone.seconds == alone.critical_path
    assert pace.headline(alone, one, 60, 8) is None  # nothing holds one restaurant back but its own calls


def test_what_is_done_no_longer_counts_and_mixed_progress_stays_a_lower_bound() -> None:
    done, accounts = pace.remaining_from_counts(0, {}, cap=8, account_interval=60, time_scale=1)
    assert (done.seconds, accounts) == (0, 0)
    # Two restaurants: one still needs its account, both their menu import. Only the calls both still
    # have make the critical path (menu import alone), so the bound is never more than either one needs.
    mixed, accounts = pace.remaining_from_counts(
        2, {"cloudwaitressAccount": 1, "menuImport": 2}, cap=8, account_interval=60, time_scale=1
    )
    menu = next(s.nominal_seconds for s in PLAN if s.key.value == "menuImport")
    assert accounts == 1 and mixed.critical_path == menu and mixed.account_chain < 60


def test_the_benchmarks_lower_bound_is_the_domains() -> None:
    batch = parse_batch(json.dumps(demo_batch(4)))
    durations = [bench.durations_for(r) for r in batch.restaurants]
    measured = bench.lower_bound(durations, cap=3, account_interval=60)
    path = max(pace.longest_path(d.total) for d in durations)
    assert measured["critical_path"] == path and measured["lower_bound"] == max(measured.values())


@pytest.fixture
async def dashboard(store, tmp_path):
    store.ensure_org("org-pace")
    token = store.create_token("org-pace", "pace")
    # The platform's real limits: one account a minute, 8 calls in flight.
    async with without_engine(store, tmp_path, accounts_per_minute=1, platform_concurrency=8) as base:
        yield base, store, token


async def test_the_batch_page_says_up_front_what_sets_the_pace(dashboard) -> None:
    base, store, token = dashboard
    batch_id = store.create_batch("org-pace", "Week 48", batch_of(3).restaurants)
    cookies = {"yb_session": open_session(store, token)}
    async with httpx.AsyncClient(base_url=base, cookies=cookies) as http:
        page = await http.get(f"/batches/{batch_id}")
    assert page.status_code == 200, page.text
    assert "3 new accounts at 1 per minute: at least 2 minutes" in page.text, page.text
    assert "The rest takes at least" in page.text
