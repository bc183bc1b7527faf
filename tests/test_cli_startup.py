"""`yolobatch --help` and the quick commands load only what they need (issue 17, item 11).

A test of imports, not of wall-clock: which modules a fresh interpreter loaded, read from
`python -X importtime`. `benchmarks/cli_startup.py` measures the times.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import batch_of

# Never for --help or --version: the engine, the web stack, the database layer, extraction.
HEAVY = ("temporalio", "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "lxml", "extruct", "httpx")
OURS = ("yolobatch.engine", "yolobatch.store", "yolobatch.api", "yolobatch.http", "yolobatch.web")
# The quick commands read the database, but never load the engine, the web stack or extraction.
NOT_FOR_READS = ("temporalio", "fastapi", "starlette", "uvicorn", "lxml", "extruct", "yolobatch.engine")


def imported(*args: str, data_dir: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yolobatch", *args],
        env=env | {"YOLOBATCH_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    ]
    assert len(lines) > 100, done.stderr[-2000:]  # the trace was read
    return set(lines[1:])


def _under(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"], ["step", "--help"]])
def test_help_and_version_load_no_engine_web_database_or_extraction(tmp_path, args) -> None:
    modules = imported(*args, data_dir=tmp_path)
    assert "typer" in modules  # the trace is of the CLI
    assert _under(modules, HEAVY + OURS) == []


def test_batches_and_status_read_the_database_without_the_engine_or_the_web_stack(tmp_path) -> None:
    from yolobatch.settings import Settings
    from yolobatch.store.opening import open_store

    store = open_store(Settings(data_dir=tmp_path))
    store.ensure_org("default")
    batch_id = store.create_batch("default", "quick", batch_of(1).restaurants)
    for args in (["batches"], ["status", batch_id]):
        modules = imported(*args, data_dir=tmp_path)
        assert "yolobatch.store.repository" in modules  # it did read the database
        assert _under(modules, NOT_FOR_READS) == [], args
