"""The store: encrypted secrets, idempotent transitions, deduplicated events, expiring slot leases."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import text

from tests.conftest import POSTGRES_URL, SECRET_KEY, batch_of, database_urls, make_store
from yolobatch.store.crypto import SecretBox
from yolobatch.store.db import MIGRATIONS
from yolobatch.store.repository import NotFound, Store


@pytest.mark.parametrize("db", database_urls())
def test_secrets_are_encrypted_at_rest_and_round_trip(db, tmp_path):
    store = make_store(db, tmp_path)
    batch = batch_of(2)
    store.ensure_org("o")
    batch_id = store.create_batch("o", "b", batch.restaurants)
    password = batch.restaurants[0].config.account.password.get_secret_value()
    with store.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM registration_configs")))
    assert password not in dump and "********" in dump
    job_id = store.batch_progress(batch_id).jobs[0].job_id
    registration = store.registration(job_id)
    assert registration.config.account.password.get_secret_value() == password
    assert registration.menu is not None and registration.menu.items()


@pytest.mark.parametrize("db", database_urls())
def test_transitions_never_go_backwards_and_events_are_deduplicated(db, tmp_path):
    store = make_store(db, tmp_path)
    store.ensure_org("o")
    batch_id = store.create_batch("o", "b", batch_of(1).restaurants)
    job_id = store.batch_progress(batch_id).jobs[0].job_id
    assert store.record_sub_step(job_id, "codeGeneration", "running", 0, attempts=1)
    assert store.record_sub_step(job_id, "codeGeneration", "completed", 0)
    # A late "running" from an abandoned attempt, and a replayed "completed", change nothing.
    assert not store.record_sub_step(job_id, "codeGeneration", "running", 0, attempts=2)
    assert not store.record_sub_step(job_id, "codeGeneration", "completed", 0)
    assert store.sub_step(job_id, "codeGeneration").status == "completed"
    # An explicit retry (next generation) may move it again.
    assert store.record_sub_step(job_id, "codeGeneration", "running", 1, attempts=1)
    for _ in range(3):
        store.add_event("o", batch_id, job_id, "sub_step_completed", "done", dedupe_key="k-1")
    assert [e.kind for e in store.events(job_id=job_id)].count("sub_step_completed") == 1


@pytest.mark.parametrize("db", database_urls())
def test_slot_leases_cap_concurrency_and_expire(db, tmp_path):
    store = make_store(db, tmp_path)
    held = [store.try_acquire_slot("platform", 2, f"w{i}", ttl_seconds=0.5) for i in range(3)]
    assert sorted(h for h in held if h is not None) == [0, 1] and held[2] is None
    store.release_slot("platform", held[0], "w0")
    assert store.try_acquire_slot("platform", 2, "w2", ttl_seconds=0.5) == held[0]
    time.sleep(0.6)  # the holders "died": their leases expire
    assert store.try_acquire_slot("platform", 2, "w3", ttl_seconds=5) is not None


@pytest.mark.parametrize("db", database_urls())
def test_a_worker_short_of_its_share_asks_for_a_lease_and_gets_it(db, tmp_path):
    store = make_store(db, tmp_path)
    hog = [store.try_acquire_slot("platform", 2, "w0", ttl_seconds=5) for _ in range(2)]
    assert sorted(hog) == [0, 1]
    assert store.renew_slots("platform", "w0", ttl_seconds=5) == set()
    assert store.try_acquire_slot("platform", 2, "w1", ttl_seconds=5) is None  # and asks for one
    (asked,) = store.renew_slots("platform", "w0", ttl_seconds=5)
    store.release_slot("platform", asked, "w0")
    assert store.try_acquire_slot("platform", 2, "w0", ttl_seconds=5) is None  # kept for the asker
    assert store.try_acquire_slot("platform", 2, "w1", ttl_seconds=5) == asked
    # One lease each is a fair share of two: nobody asks any more.
    assert store.try_acquire_slot("platform", 2, "w1", ttl_seconds=5) is None
    assert store.try_acquire_slot("platform", 2, "w0", ttl_seconds=5) is None
    assert store.renew_slots("platform", "w0", ttl_seconds=5) == set()
    assert store.renew_slots("platform", "w1", ttl_seconds=5) == set()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="YOLOBATCH_TEST_POSTGRES_URL not set")
def test_processes_starting_together_migrate_one_after_the_other(tmp_path):
    """Scale-out starts several processes at once on an empty database; each migrates on start."""
    store = make_store("postgres", tmp_path, schema="yolobatch_migrate")
    with store.engine.begin() as connection:  # back to an empty schema
        connection.execute(text("DROP SCHEMA yolobatch_migrate CASCADE"))
        connection.execute(text("CREATE SCHEMA yolobatch_migrate"))
    url = store.engine.url.render_as_string(hide_password=False)
    code = (
        "import sys; from yolobatch.store.db import make_engine, migrate; migrate(make_engine(sys.argv[1]))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    failures = [p.stderr.read()[-500:] for p in starts if p.wait(60) != 0]  # type: ignore[union-attr]
    assert failures == []
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()


@pytest.mark.security
def test_tokens_are_stored_only_as_hashes_and_revoked_ones_stop_working(store):
    store.ensure_org("org-a")
    token = store.create_token("org-a", "ops-laptop")
    with store.session() as s:
        rows = s.execute(text("SELECT * FROM api_tokens")).mappings().all()
    assert len(rows) == 1 and all(token not in str(value) for value in rows[0].values())
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert store.token_owner(token) == ("org-a", "ops-laptop")
    assert store.token_owner(token[:-1] + ("x" if token[-1] != "x" else "y")) is None
    assert store.revoke_tokens("org-a", "ops-laptop") == 1
    assert store.org_for_token(token) is None


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_unknown_ids_are_not_found(store):
    with pytest.raises(NotFound):
        store.batch_progress("nope")
    with pytest.raises(NotFound):
        store.registration("nope")


@pytest.mark.parametrize("db", database_urls())
def test_rate_gate_spaces_starts_even_when_asked_at_once(db, tmp_path):

    store = make_store(db, tmp_path)
    now = time.time()
    with ThreadPoolExecutor(8) as pool:
        starts = sorted(pool.map(lambda _: store.reserve_start("accounts", 60.0, now), range(8)))
    assert starts[0] == pytest.approx(now)
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [60.0] * 7


def _batch_in_every_state(store, count: int) -> tuple[str, list[str]]:
    """A batch whose first restaurants are failed, waiting and done (in that order); the rest are running."""
    store.ensure_org("o")
    batch_id = store.create_batch("o", "big", batch_of(count).restaurants)
    ids = [j.job_id for j in store.job_summaries(batch_id)]
    store.record_job(ids[0], "action_required", "Waiting for a person: codeGeneration")
    store.record_sub_step(ids[0], "codeGeneration", "failed", 0, error="HTTP 500")
    store.record_job(ids[1], "action_required", "Waiting for a person: company choice")
    for job_id in ids[2:5]:
        store.record_sub_step(job_id, "codeGeneration", "completed", 0)
        store.record_job(job_id, "completed")
    return batch_id, ids


@pytest.mark.parametrize("db", database_urls())
def test_progress_is_paged_and_filtered_with_counts_over_the_whole_batch(db, tmp_path):
    store = make_store(db, tmp_path)
    batch_id, ids = _batch_in_every_state(store, 230)

    first = asdict(store.batch_progress(batch_id, "o", offset=0, limit=100))
    assert first["total"] == 230 and first["counts"] == {"action_required": 2, "completed": 3, "pending": 225}
    assert first["state_counts"] == {"failed": 1, "waiting": 1, "running": 225, "done": 3}
    assert store.calls_settled(batch_id) == 3
    assert [j["job_id"] for j in first["jobs"]] == ids[:100]  # input order
    assert [j["state"] for j in first["jobs"][:6]] == ["failed", "waiting", "done", "done", "done", "running"]
    assert first["jobs"][0]["sub_steps"]["codeGeneration"]["error"] == "HTTP 500"
    assert first["page"] == {"state": None, "offset": 0, "limit": 100, "matching": 230}

    last = asdict(store.batch_progress(batch_id, "o", offset=200, limit=100))
    assert [j["job_id"] for j in last["jobs"]] == ids[200:]
    done = asdict(store.batch_progress(batch_id, "o", state="done", limit=2))
    assert [j["job_id"] for j in done["jobs"]] == ids[2:4] and done["page"]["matching"] == 3
    assert [j.job_id for j in store.batch_progress(batch_id, state="failed").jobs] == ids[:1]
    counts_only = asdict(store.batch_progress(batch_id, limit=0))
    assert counts_only["jobs"] == [] and counts_only["total"] == 230
    assert len(store.batch_progress(batch_id).jobs) == 230  # no limit: every restaurant
    with pytest.raises(NotFound):
        store.batch_progress(batch_id, "another-org", limit=1)


@pytest.mark.security
@pytest.mark.parametrize("db", database_urls())
def test_secret_key_rotation_reseals_everything_with_the_new_key(db, tmp_path):
    old, new = SECRET_KEY, Fernet.generate_key().decode()
    store = make_store(db, tmp_path)  # sealed with the old key
    store.ensure_org("o")
    batch = batch_of(3)
    batch_id = store.create_batch("o", "b", batch.restaurants)
    job_id = store.job_summaries(batch_id)[0].job_id
    password = batch.restaurants[0].config.account.password.get_secret_value()

    both = Store(store.engine, SecretBox(f"{new},{old}"))  # step 1: NEW first, OLD still readable
    assert both.config_wire(job_id)["account"]["password"] == password
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLOBATCH_")}
    env |= {
        "YOLOBATCH_DATA_DIR": str(tmp_path),
        "YOLOBATCH_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "YOLOBATCH_SECRET_KEY": f"{new},{old}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "yolobatch", "rotate-secrets"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "Re-encrypted the secrets of 3" in run.stdout + run.stderr and new not in run.stdout + run.stderr

    only_new = Store(store.engine, SecretBox(new))  # step 3: OLD can go
    assert only_new.config_wire(job_id)["account"]["password"] == password
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Store(store.engine, SecretBox(old)).config_wire(job_id)
    with pytest.raises(ValueError, match="not a valid Fernet key"):
        SecretBox("not-a-key")


@pytest.mark.reliability
@pytest.mark.parametrize("db", database_urls())
def test_progress_agrees_with_itself_while_writers_change_it(db, tmp_path):
    """Counts and the page of restaurants come from one snapshot: while other threads move restaurants
    between statuses, every answer's counts match its own rows (they were read apart and disagreed)."""
    store = make_store(db, tmp_path)
    store.ensure_org("o")
    batch_id = store.create_batch("o", "b", batch_of(40).restaurants)
    ids = [j.job_id for j in store.job_summaries(batch_id)]
    stop = threading.Event()

    def flip(mine: list[str]) -> int:
        flips = 0
        while not stop.is_set():
            for job_id in mine:
                store.record_job(job_id, "completed" if flips % 2 else "running")
            flips += 1
        return flips

    checked = 0
    with ThreadPoolExecutor(2) as pool:
        writers = [pool.submit(flip, ids[:20]), pool.submit(flip, ids[20:])]
        try:
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                progress = asdict(store.batch_progress(batch_id, "o"))
                rows = Counter(job["status"] for job in progress["jobs"])
                assert dict(rows) == progress["counts"], (rows, progress["counts"])
                states = Counter(job["state"] for job in progress["jobs"])
                assert {s: states.get(s, 0) for s in progress["state_counts"]} == progress["state_counts"]
                checked += 1
        finally:
            stop.set()
        assert all(w.result() > 1 for w in writers)  # the writers really ran meanwhile
    assert checked > 5


@pytest.mark.parametrize("db", database_urls())
def test_a_late_start_holds_the_next_reserved_start_back(db, tmp_path):
    """The platform counts from actual starts: a call that started 3 s after its reserved time makes the
    next one, reserved a minute after that time, wait the 3 s too."""
    store = make_store(db, tmp_path)
    first = store.reserve_start("accounts", 60.0, 1000.0)
    second = store.reserve_start("accounts", 60.0, 1000.0)
    assert (first, second) == (1000.0, 1060.0)
    assert store.confirm_start("accounts", 60.0, 1003.0) == 0.0  # late: a busy worker
    assert store.confirm_start("accounts", 60.0, second) == pytest.approx(3.0)
    assert store.confirm_start("accounts", 60.0, 1063.0) == 0.0
    # Reserved from now on: behind the actual start, not the reserved one.
    assert store.reserve_start("accounts", 60.0, 1063.0) == 1123.0
