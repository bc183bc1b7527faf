"""The command line's conventions (issue 17, items 10-11): complete help with choices listed, `batches`,
job ids in `status`, one versioned JSON document, exit 130 and one line on Ctrl-C, the pace said up front."""

from __future__ import annotations

import enum
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

import pytest
import typer.main
from typer.testing import CliRunner

from tests.conftest import batch_of
from tests.test_cli import yolobatch
from yolobatch.cli import app
from yolobatch.cli.common import Contract, Registry
from yolobatch.cli.document import SCHEMA

EXAMPLES = Path(__file__).parent.parent / "examples"
# Options whose values are a fixed vocabulary: each must be a choice, listed by --help.
FIXED_VALUES = {"registry", "contract", "format", "scenario", "status"}


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


def _choices(param) -> list[str] | None:
    """The values a parameter accepts when they are a fixed set (a Literal or an Enum), else None."""
    annotation = param.type_descriptor.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(m.value) for m in annotation]
    return None


def test_every_command_and_option_has_help_and_fixed_values_are_choices() -> None:
    root = typer.main.get_command(app)
    missing, not_choices, walked = [], [], 0
    for path, command in _commands(root):
        walked += 1
        if path and not (command.help or command.short_help):
            missing.append(" ".join(path))
        for param in command.params:
            if param.name in ("help", "install_completion", "show_completion"):
                continue
            if not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.name}")
            if param.name in FIXED_VALUES and _choices(param) is None:
                not_choices.append(f"{' '.join(path)} --{param.name}")
        shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "300"})  # nothing cut
        assert shown.exit_code == 0, (path, shown.output)
        for param in command.params:
            for choice in _choices(param) or []:
                assert choice in shown.output, (path, param.name, shown.output)
    assert walked > 20  # the walk reached the sub-commands (token, org, step, platform)
    assert missing == [], f"no help text: {missing}"
    assert not_choices == [], f"fixed values not offered as choices: {not_choices}"


def test_the_cli_vocabularies_are_the_domains() -> None:
    """Spelled in the CLI so that `--help` imports nothing heavy; they must not drift from the source."""
    from yolobatch.devtools.bench import SCENARIOS
    from yolobatch.domain.company import REGISTRIES
    from yolobatch.integrations.registration.port import CONTRACTS

    assert get_args(Registry) == tuple(REGISTRIES)
    assert set(get_args(Contract)) == set(CONTRACTS)
    scenario = next(p for p in typer.main.get_command(app).commands["bench"].params if p.name == "scenario")
    assert set(_choices(scenario) or []) == set(SCENARIOS)


def test_batches_lists_filters_and_searches_and_status_shows_job_ids(tmp_path) -> None:
    from yolobatch.engine.runtime import open_store
    from yolobatch.settings import Settings

    store = open_store(Settings(data_dir=tmp_path))
    store.ensure_org("default")
    week = store.create_batch("default", "Week 48 Auckland", batch_of(2).restaurants)
    other = store.create_batch("default", "Wellington 100%_", batch_of(1).restaurants)
    store.ensure_org("elsewhere")
    store.create_batch("elsewhere", "Week 48 elsewhere", batch_of(1).restaurants)

    listed = yolobatch("batches", "--json", data_dir=tmp_path, timeout=60)
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert [i["batch_id"] for i in body["items"]] == [other, week] and body["total"] == 2
    searched = yolobatch("batches", "--search", "week 48", "--json", data_dir=tmp_path)
    assert searched.returncode == 0, searched.stderr
    searched = json.loads(searched.stdout)
    assert [i["batch_id"] for i in searched["items"]] == [week]
    # `%` and `_` are searched for as themselves, not as SQL wildcards.
    literal = json.loads(yolobatch("batches", "--search", "0%_", "--json", data_dir=tmp_path).stdout)
    assert [i["batch_id"] for i in literal["items"]] == [other]
    drafts = yolobatch("batches", "--status", "draft", "--limit", "1", data_dir=tmp_path)
    assert drafts.returncode == 0 and other in drafts.stdout and week not in drafts.stdout, drafts.stdout
    assert "1 of 2 batches" in drafts.stderr
    none = yolobatch("batches", "--status", "running", data_dir=tmp_path)
    assert none.returncode == 0 and "No batches match" in none.stderr
    refused = yolobatch("batches", "--status", "finished", data_dir=tmp_path)
    assert refused.returncode == 2 and "'draft'" in refused.stderr  # the choices are named

    shown = yolobatch("status", week, data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for job in store.job_summaries(week):
        assert job.job_id in shown.stdout, shown.stdout
    # The pace of a 2-restaurant batch under default limits is said in the versioned document.
    document = json.loads(yolobatch("status", week, "--json", data_dir=tmp_path).stdout)
    assert document["schema"] == SCHEMA and document["pace"]["new_accounts"] == 2
    assert [r["job_id"] for r in document["restaurants"]] == [j.job_id for j in store.job_summaries(week)]


def _wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert process.poll() is None, path.read_text()[-3000:]
        assert time.monotonic() < deadline, path.read_text()[-3000:]
        time.sleep(0.2)


def _spawn(args: list[str], data_dir: Path, err: Path) -> subprocess.Popen:
    from yolobatch.engine.devserver import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {"YOLOBATCH_DATA_DIR": str(data_dir), "YOLOBATCH_TEMPORAL_PORT": str(free_port())}
    return subprocess.Popen(
        [sys.executable, "-m", "yolobatch", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=err.open("w"),
    )


def _interrupt(process: subprocess.Popen, *, after: float, timeout: float) -> int:
    """Ctrl-C `after` seconds, as a terminal sends it; the exit code (the process is killed if it hangs)."""
    try:
        time.sleep(after)
        assert process.poll() is None, f"exited early with {process.returncode}"
        process.send_signal(signal.SIGINT)
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ctrl_c_during_a_run_exits_130_with_one_line_and_the_pace_was_said_up_front(tmp_path) -> None:
    err = tmp_path / "stderr"
    # 1 account per minute scaled by 0.2: one every 12 s, so three restaurants wait for the gate.
    args = ["run", str(EXAMPLES / "restaurants.csv"), "--sandbox", "--time-scale", "0.2"]
    process = _spawn(args, tmp_path / "data", err)
    _wait_for(err, "Pace:", process)  # said before the batch starts
    # Then the batch started, calls in flight, the live view watching.
    code = _interrupt(process, after=3, timeout=120)
    text = err.read_text()
    assert code == 130, text[-3000:]
    assert "Pace: 3 new accounts at 5 per minute: at least 24 s" in text, text[-3000:]
    assert "Traceback" not in text and text.count("Interrupted") == 1, text[-3000:]
    assert text.rstrip().splitlines()[-1].startswith("Interrupted: the batch stays durable"), text[-3000:]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["org", "platform", "--org", "acme", "--url", "https://platform.example"], id="prompt"),
        pytest.param(["sandbox", "--port", "0"], id="server"),
    ],
)
def test_ctrl_c_anywhere_exits_130_without_a_traceback(tmp_path, args) -> None:
    """At a prompt (Typer alone says "Aborted!" and exits 1) and in a server (uvicorn's own handler)."""
    err = tmp_path / "stderr"
    process = _spawn(args, tmp_path / "data", err)
    code = _interrupt(process, after=3, timeout=60)  # imported and waiting (for the key, or for requests)
    text = err.read_text()
    assert code == 130 and "Traceback" not in text, text[-3000:]
