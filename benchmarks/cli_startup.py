"""How long the command line takes to start: `yolobatch --help`, `--version`, `batches` and `status`.

    python -m benchmarks.cli_startup [--runs N] [--json]

Each command runs N times in a fresh interpreter (as a user runs it), over a data dir with one batch; the
table gives the median and the best wall time, and how many modules the command imported. The quick
commands must not import the engine (temporalio), the web stack or extraction (tests/test_cli_startup.py
checks which modules load; this only measures).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    return env | {"YOLOBATCH_DATA_DIR": str(data_dir)}


def _batch(data_dir: Path) -> str:
    """A data dir with one draft batch of three restaurants, for `status` to read."""
    from yolobatch.devtools.demo import demo_batch
    from yolobatch.domain.batch_input import parse_batch
    from yolobatch.settings import Settings
    from yolobatch.store.opening import open_store

    store = open_store(Settings(data_dir=data_dir))
    store.ensure_org("default")
    return store.create_batch("default", "startup", parse_batch(json.dumps(demo_batch(3))).restaurants)


def measure(args: list[str], data_dir: Path, runs: int) -> dict[str, object]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "yolobatch", *args], env=_env(data_dir), capture_output=True, check=False
        )
        times.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "yolobatch", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    modules = [line for line in traced.stderr.splitlines() if line.startswith("import time:")][1:]
    return {
        "command": "yolobatch " + " ".join(a if len(a) < 20 else "<id>" for a in args),
        "median_s": round(statistics.median(times), 3),
        "best_s": round(min(times), 3),
        "modules": len(modules),
        "temporalio": any(" temporalio" in line for line in modules),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object on the last line")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        batch_id = _batch(data_dir)
        commands = [["--help"], ["--version"], ["batches"], ["status", batch_id]]
        results = [measure(command, data_dir, options.runs) for command in commands]
    print(f"{'command':<24} {'median':>8} {'best':>8} {'modules':>8}  temporalio")
    for row in results:
        print(
            f"{row['command']:<24} {row['median_s']:>7.3f}s {row['best_s']:>7.3f}s {row['modules']:>8}  "
            f"{'yes' if row['temporalio'] else 'no'}"
        )
    if options.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
