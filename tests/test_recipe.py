"""The README's recipe for running the pieces separately, run as written: only its directory and ports are
moved (to a temporary directory and free ports), so it cannot drift from what works."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from yolobatch.engine.devserver import free_port

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).parent.parent
MARK = "<!-- recipe: separate processes -->"
RECIPE_DIR = "/var/lib/yolobatch"
RECIPE_PORTS = ("7233", "8233", "8765", "8000")  # Temporal, its UI, the sandbox, the API


def readme_recipe() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(re.escape(MARK) + r"\n```sh\n(.*?)\n```", text, re.S)
    assert found, f"README.md lost the recipe block after {MARK}"
    return found.group(1)


def moved(recipe: str, directory: Path, ports: dict[str, int]) -> str:
    assert recipe.count(RECIPE_DIR) >= 5
    recipe = recipe.replace(RECIPE_DIR, str(directory))
    for old, new in ports.items():
        assert re.search(rf"\b{old}\b", recipe), f"the recipe no longer uses port {old}"
        recipe = re.sub(rf"\b{old}\b", str(new), recipe)
    return recipe


async def test_the_readmes_separate_processes_recipe_runs_a_batch(tmp_path):
    ports = {old: free_port() for old in RECIPE_PORTS}
    script = tmp_path / "recipe.sh"
    script.write_text("set -e\n" + moved(readme_recipe(), tmp_path / "yolobatch", ports) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `yolobatch`, `python`
    # Test speed (not in the recipe): every process, the sandbox too, runs at 1/100 of real durations.
    env["YOLOBATCH_TIME_SCALE"] = "0.01"
    log = tmp_path / "recipe.log"
    with log.open("wb") as out:
        # Its own process group: the recipe's background processes are stopped together at the end.
        shell = subprocess.Popen(
            ["bash", str(script)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    api, sandbox = f"http://127.0.0.1:{ports['8000']}", f"http://127.0.0.1:{ports['8765']}"
    try:
        token = await _token(tmp_path, env, ports, shell, log)
        csv = (ROOT / "examples" / "plain-restaurants.csv").read_text().replace("{sandbox}", sandbox)
        async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}) as http:
            await _until(lambda: _ready(http), shell, log)
            created = await http.post(
                "/api/batches/upload",
                files={"file": ("recipe.csv", csv.encode(), "text/csv")},
                data={"yolo": "true", "start": "true"},
            )
            assert created.status_code == 201, created.text
            batch_id = created.json()["batch_id"]

            async def settled() -> bool:
                counts = (await http.get(f"/api/batches/{batch_id}")).json()["counts"]
                return counts == {"completed": 10}

            await _until(settled, shell, log, timeout=120)
        audit = httpx.get(f"{sandbox}/_sandbox/state", timeout=10).json()
        assert audit["duplicates"] == [] and audit["side_effects"], audit
        ui = httpx.get(f"http://127.0.0.1:{ports['8233']}/namespaces/yolobatch/workflows", timeout=10)
        assert ui.status_code == 200
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        try:
            shell.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
    # The engine kept its workflows in the data dir's database file.
    assert (tmp_path / "yolobatch" / "temporal" / "temporal.db").exists(), log.read_text()[-3000:]


async def _token(tmp_path: Path, env: dict[str, str], ports: dict[str, int], shell, log: Path) -> str:
    """`yolobatch token create` in the recipe's environment (its `export` lines), as the README says."""
    exports = "\n".join(
        line
        for line in moved(readme_recipe(), tmp_path / "yolobatch", ports).splitlines()
        if line.startswith("export ")
    )
    command = f"{exports}\nyolobatch token create --org acme --data-dir {tmp_path / 'yolobatch'}"
    deadline = time.monotonic() + 60
    while True:  # the secret key file is written by the recipe's first lines
        if (tmp_path / "yolobatch" / "secret.key").exists():
            break
        if shell.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(log.read_text()[-3000:])
        await asyncio.sleep(0.1)
    result = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _until(check, shell: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if shell.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"recipe (exit {shell.poll()}): {log.read_text()[-4000:]}")
        await asyncio.sleep(0.3)
