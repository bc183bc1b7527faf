"""Smoke tests of the benchmarks, so they cannot rot: tiny batches end to end, then sane numbers."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks import extraction, overhead, scale
from benchmarks.large_page import LARGE_ID
from temporalio.client import Client

from tests.conftest import SECRET_KEY
from yolobatch.devtools import bench as makespan

KEYS = {
    "restaurants",
    "cap",
    "time_scale",
    "makespan_s",
    "makespan_unscaled_s",
    "lower_bound_s",
    "critical_path_s",
    "work_over_cap_s",
    "account_chain_s",
    "ratio",
    "phase_barrier_s",
    "phase_barrier_ratio",
    "graph_fifo_s",
}


async def test_makespan_harness_end_to_end(dev_server, store, tmp_path) -> None:
    client = await Client.connect(dev_server.address)
    with makespan.sandbox_process(0.005) as sandbox_url:  # its own sandbox: the session one has jitter
        result = await makespan.measure(
            client,
            sandbox_url,
            store,
            restaurants=3,
            cap=2,
            time_scale=0.005,
            data_dir=tmp_path,
            secret_key=SECRET_KEY,
        )
    assert result.keys() >= KEYS
    assert (result["restaurants"], result["cap"]) == (3, 2)
    bound = result["lower_bound_s"]
    assert bound > 0
    assert bound == max(result["critical_path_s"], result["work_over_cap_s"], result["account_chain_s"])
    assert result["makespan_s"] >= bound * 0.95
    assert result["phase_barrier_s"] >= bound
    assert result["graph_fifo_s"] >= bound
    assert result["ratio"] > 0.95
    assert result["repeated_calls"] == 0
    json.dumps({"scenarios": {"smoke": result}})  # serialisable as the --json line
    print(makespan.table({"scenarios": {"smoke": result}}))


def test_simulations_respect_the_bound_and_the_barriers_cost_time() -> None:
    durations = [makespan.durations_for(r) for r in makespan.batch_of(10).restaurants]
    for cap in (1, 4, 8, 20):
        bound = makespan.lower_bound(durations, cap, makespan.ACCOUNT_INTERVAL_SECONDS)["lower_bound"]
        barrier = makespan.simulate(durations, cap, 60.0, makespan.phase_barrier_needs)
        fifo = makespan.simulate(durations, cap, 60.0, makespan.graph_needs)
        assert barrier >= bound - 1e-9
        assert fifo >= bound - 1e-9
    one = makespan.simulate(durations[:1], 100, 60.0, makespan.graph_needs)
    assert one == makespan.critical_path(durations[0])  # unconstrained: exactly the critical path
    assert makespan.simulate(durations[:1], 100, 60.0, makespan.phase_barrier_needs) > one


async def test_scale_harness_end_to_end_with_real_processes() -> None:
    result = await scale.run_size(5, workers=1, cap=8, database_url=None, timeout=180)
    assert result["completed"] == 5 and result["sub_steps"] == 60
    assert result["sub_steps_per_s"] > 0 and result["wall_s"] > 0
    assert set(result["peak_rss_mb"]) == {"worker 1", "api", "temporal server"}
    assert all(mb > 10 for mb in result["peak_rss_mb"].values())
    assert set(result["latency"]) == set(scale.ENDPOINTS) and all(
        v["n"] >= 1 for v in result["latency"].values()
    )
    assert result["database_mb"] > 0 and result["temporal_db_mb"] > 0
    print(scale.table([result]))


def test_the_capped_scenario_is_bound_by_the_cap_and_the_simulation_frees_slots_at_the_call_end() -> None:
    capped = makespan.SCENARIOS["capped"]
    durations = [makespan.durations_for(r) for r in makespan.batch_of(capped.restaurants).restaurants]
    bound = makespan.lower_bound(durations, capped.cap, capped.account_interval)
    assert bound["lower_bound"] == bound["work_over_cap"] > 2 * bound["account_chain"]
    # An asynchronous upload goes on after its call answered: holding the slot for it would cost time.
    upload = makespan.S.UPLOAD_IMAGES
    restaurant = next(d for d in durations if d.total[upload] > d.call[upload])
    one = makespan.simulate([restaurant], 1, 60.0, makespan.graph_needs)
    held = makespan.Durations(total=restaurant.total, call=restaurant.total)
    assert one < makespan.simulate([held], 1, 60.0, makespan.graph_needs)


def test_overhead_benchmark_compares_yolobatch_with_bare_temporal(capsys) -> None:
    overhead.main(["--restaurants", "3", "--json"])
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    for side in ("bare", "bare_own_queue", "bare_local", "yolobatch"):
        numbers = report[side]
        # Every call's schedule-to-start was found (a local activity's marker, for bare_local).
        assert numbers["calls_measured"] == 3 * 12, side
        assert numbers["worker_cpu_ms_per_substep"] > 0 and numbers["server_cpu_ms_per_substep"] > 0, side
        assert numbers["substeps_per_s"] > 0 and numbers["history_events_per_restaurant"] > 12, side
    # An activity costs three events (scheduled, started, completed), a local one a marker.
    assert report["bare"]["history_events_per_restaurant"] > 12 * 3
    assert report["bare_local"]["history_events_per_restaurant"] < 12 * 3
    assert report["cpu_ratio"] == round(
        report["yolobatch_cpu_ms_per_substep"] / report["bare_cpu_ms_per_substep"], 2
    )


def test_bench_command_refuses_an_unknown_scenario() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yolobatch", "bench", "--scenario", "huge"], capture_output=True, text=True
    )
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "'huge' is not one of" in said and "'medium'" in said, said


def test_extraction_benchmark_scores_a_corpus_page_and_the_built_large_page(capsys) -> None:
    assert extraction.main(["--only", "enc-shift-jis", LARGE_ID, "--large-mb", "0.2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    by_id = {source["id"]: source for source in report["sources"]}
    assert set(by_id) == {"enc-shift-jis", LARGE_ID}
    large = by_id[LARGE_ID]
    assert large["passed"] and large["strategy"] == "jsonld"
    assert large["items_expected"] == large["items_matched"] > 250 and 190 < large["page_kb"] < 260
    assert large["rss_hwm_mb"] >= large["rss_before_mb"] > 10 and large["peak_mb"] > 0
    assert large["seconds"] > 0
