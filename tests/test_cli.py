"""The command line, as a user runs it: a subprocess with its own embedded engine and sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import batch_of
from yolobatch.domain.plan import PLAN
from yolobatch.engine.devserver import free_port

EXAMPLES = Path(__file__).parent.parent / "examples"


def yolobatch(*args: str, data_dir: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {"YOLOBATCH_DATA_DIR": str(data_dir), "YOLOBATCH_TEMPORAL_PORT": str(free_port())}
    return subprocess.run(
        [sys.executable, "-m", "yolobatch", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_run_csv_against_the_sandbox_on_the_embedded_engine(tmp_path):
    result = yolobatch(
        "run",
        str(EXAMPLES / "restaurants.csv"),
        "--sandbox",
        "--time-scale",
        "0.01",
        "--json",
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    assert [r["name"] for r in summary["restaurants"]] == [
        "Jax Burger Shack",
        "Pizza Palace CBD",
        "Golden Dragon Noodle House",
    ]
    assert all(s["status"] == "completed" for r in summary["restaurants"] for s in r["sub_steps"].values())
    assert summary["sandbox"]["duplicates"] == []
    # Nothing secret reached the output, and the engine's files stayed in the data dir.
    assert "Jaxburgershack789!" not in result.stdout + result.stderr
    assert (tmp_path / "temporal.db").exists() and (tmp_path / "yolobatch.db").exists()

    status = yolobatch("status", summary["batch_id"], "--json", data_dir=tmp_path)
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "completed"
    # One versioned document for both (README "JSON output"): `run` adds only its sandbox summary.
    document = json.loads(status.stdout)
    assert summary["schema"] == document["schema"] == "yolobatch.batch/1"
    assert set(summary) - {"sandbox"} == set(document), set(summary) ^ set(document)
    assert summary["restaurants"] == document["restaurants"]
    assert summary["elapsed_seconds"] > 0 and document["elapsed_seconds"] is None
    assert summary["pace"]["lower_bound_seconds"] == 0 and summary["pace"]["headline"] is None  # all done


def test_a_bad_file_is_refused_with_every_problem_and_creates_nothing(tmp_path):
    shutil.copytree(EXAMPLES / "menus", tmp_path / "menus")
    bad = tmp_path / "bad.csv"
    lines = (EXAMPLES / "restaurants.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace("#D62828", "red"), lines[2]]))
    result = yolobatch("run", str(bad), "--sandbox", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert "row 2 (Jax Burger Shack): config.website.primaryColor" in result.stderr
    assert "nothing was created" in result.stderr
    assert not (tmp_path / "data").exists()

    missing = yolobatch("run", str(tmp_path / "nope.json"), data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
    unknown = yolobatch("status", "no-such-batch", data_dir=tmp_path / "data2")
    assert unknown.returncode == 1 and "not found" in unknown.stderr


@pytest.mark.security
def test_names_and_messages_from_outside_are_printed_as_text_never_as_markup(tmp_path):
    """Rich reads `[...]` as markup: a restaurant called `[/]` crashed `status`, `[link=...]` made links."""
    name = "Evil [/] [link=http://evil.example]Bar[/link] [bold red]x"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,storeUrl,city\n{name},ftp://x.example/[/],Auckland\n")
    refused = yolobatch("run", str(bad), "--sandbox", data_dir=tmp_path / "data")
    assert refused.returncode == 2 and f"row 2 ({name}): storeUrl" in refused.stderr, refused.stderr

    good = tmp_path / "good.csv"
    good.write_text(f"name,storeUrl,city\n{name},https://example.com/menu,Auckland\n")
    from yolobatch.domain.batch_input import parse_csv_batch
    from yolobatch.engine.runtime import open_store
    from yolobatch.settings import Settings

    store = open_store(Settings(data_dir=tmp_path / "data"))
    store.ensure_org("default")
    batch = parse_csv_batch(good.read_text(), "markup")
    batch_id = store.create_batch("default", "markup", batch.restaurants)
    shown = yolobatch("status", batch_id, data_dir=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "Evil [/] [link=http://evil.ex" in shown.stdout, shown.stdout  # literal (and cut to fit)


@pytest.mark.security
def test_control_characters_from_outside_are_shown_escaped_never_sent_to_the_terminal(tmp_path):
    """An ESC sequence in a name could recolour, clear or retitle the operator's terminal; a carriage
    return or a bidi override could make a line read as something else."""
    name = "Evil\x1b[2J\x1b]0;pwned\x07Bar\x08X\u202eY"
    from yolobatch.domain.batch_input import parse_csv_batch
    from yolobatch.engine.runtime import open_store
    from yolobatch.settings import Settings

    store = open_store(Settings(data_dir=tmp_path))
    store.ensure_org("default")
    batch = parse_csv_batch(f"name,storeUrl,city\n{name},https://example.com/menu,Auckland\n", "esc")
    assert batch.restaurants[0].name == name  # kept as given: only the terminal must not obey it
    batch_id = store.create_batch("default", "esc", batch.restaurants)
    shown = yolobatch("status", batch_id, data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr[-2000:]
    out = shown.stdout + shown.stderr
    assert not any(c in out for c in ("\x1b", "\x07", "\x08", "\u202e")), repr(out)
    assert "Evil\\x1b[2J" in shown.stdout, shown.stdout


def test_plain_csv_runs_the_whole_pipeline_in_yolo_mode(tmp_path):
    plain = str(EXAMPLES / "plain-restaurants.csv")
    result = yolobatch(
        "run", plain, "--sandbox", "--yolo", "--json", "--time-scale", "0.01", data_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and len(summary["restaurants"]) == 10
    assert summary["sandbox"]["duplicates"] == []


def test_no_input_leaves_choices_waiting_and_says_which(tmp_path):
    plain = str(EXAMPLES / "plain-restaurants.csv")
    result = yolobatch("run", plain, "--sandbox", "--no-input", "--time-scale", "0.01", data_dir=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Taco Loco" in result.stderr and "companySelection" in result.stderr


def test_interactive_run_asks_for_the_company_and_the_config_review(tmp_path):
    """In a real terminal (a pseudo-terminal here), `run` asks and the answers reach the workflows."""
    import pty
    import select
    import time

    batch = tmp_path / "two.csv"
    batch.write_text(
        "name,storeUrl,city,email\n"
        "Pizza Palace CBD,{sandbox}/stores/pizza-palace-cbd,Wellington,owner@pp.co.nz\n"
        "Jax Burger Shack,{sandbox}/stores/jax-burger-shack,Auckland,owner@jax.co.nz\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {"YOLOBATCH_TEMPORAL_PORT": str(free_port()), "COLUMNS": "120"}
    command = [sys.executable, "-m", "yolobatch", "run", str(batch), "--sandbox", "--time-scale", "0.01"]
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes the CLI, attached to the pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, command, env)
    output, mark, answers = b"", 0, []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break  # the CLI exited
        if not chunk:
            break
        output += chunk
        pending = output[mark:].decode(errors="replace")
        if "Enter to leave" in pending:
            mark = len(output)
            answer = b"1\n" if "earch again" in pending else b"a\n"  # first candidate / approve
            os.write(fd, answer)
            answers.append(answer)
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-3000:]
    assert answers.count(b"1\n") == 1 and answers.count(b"a\n") == 2
    assert "Pizza Palace CBD: Chosen by cli" in text


def test_sandbox_settings_allow_the_sandbox_host_even_when_mounted_under_a_path():
    from yolobatch.cli import sandbox_settings

    mounted = sandbox_settings("http://127.0.0.1:8000/sandbox")
    assert mounted["fetch_allowed_hosts"] == ["127.0.0.1:8000"]
    assert mounted["nzbn_api_url"] == "http://127.0.0.1:8000/sandbox/nzbn/v5"


@pytest.mark.security
def test_api_process_never_prints_a_login_token_into_its_log(dev_server, tmp_path):
    """Scale-out processes log to files: the one-click login link (a credential) is for terminals only."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {"YOLOBATCH_DATA_DIR": str(tmp_path), "TEMPORAL_ADDRESS": dev_server.address}
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "yolobatch", "api", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in log.read_text() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(20)
    text = log.read_text()
    token = (tmp_path / "local-token").read_text().strip()
    assert "Log in at" in text and str(tmp_path / "local-token") in text, text
    assert token not in text and "login?token=" not in text


@pytest.mark.security
def test_login_links_tokens_list_and_revoke_from_the_command_line(tmp_path):
    from yolobatch.engine.runtime import open_store
    from yolobatch.settings import Settings
    from yolobatch.store.access import Access

    link = yolobatch("login-link", "--url", "http://127.0.0.1:8123/", data_dir=tmp_path)
    assert link.returncode == 0, link.stderr
    assert link.stdout.startswith("http://127.0.0.1:8123/login?code=ybl_")  # a code, not a token (yb_)
    access = Access(open_store(Settings(data_dir=tmp_path)))
    caller = access.peek_login_code(link.stdout.strip().split("code=")[1])
    assert caller is not None and (caller.org_id, caller.token_name) == ("default", "local dashboard")

    token = yolobatch("token", "create", "--org", "acme", "--name", "ci", data_dir=tmp_path).stdout.strip()
    listed = json.loads(yolobatch("token", "list", "--org", "acme", "--json", data_dir=tmp_path).stdout)
    assert [(t["name"], t["revoked_at"]) for t in listed] == [("ci", None)] and token not in str(listed)
    session = access.open_session(access.token_caller(token), timedelta(hours=1))
    wrong_org = yolobatch("token", "revoke", listed[0]["id"], "--org", "default", data_dir=tmp_path)
    assert wrong_org.returncode == 1 and access.token_caller(token) is not None
    revoked = yolobatch("token", "revoke", listed[0]["id"], "--org", "acme", data_dir=tmp_path)
    assert revoked.returncode == 0 and "sessions are ended" in revoked.stderr
    assert access.token_caller(token) is None and access.session_caller(session) is None


@pytest.mark.parametrize(
    ("reason", "status", "says"),
    [
        pytest.param(None, 2, "--reason", id="no-reason"),
        pytest.param("  ", 1, "reason is required", id="blank-reason"),
    ],
)
def test_a_skip_needs_a_reason(tmp_path, reason, status, says):
    """Every decision that lets a restaurant go on without the work done says why (issue 16)."""
    given = [] if reason is None else ["--reason", reason]
    result = yolobatch("step", "skip", "some-job", "menuImport", *given, data_dir=tmp_path, timeout=60)
    assert result.returncode == status, result.stdout + result.stderr
    assert says in result.stdout + result.stderr


def test_status_shows_a_success_false_warning_apart_from_a_clean_completion(tmp_path):
    from yolobatch.engine.runtime import open_store
    from yolobatch.settings import Settings

    store = open_store(Settings(data_dir=tmp_path))
    store.ensure_org("o")
    batch_id = store.create_batch("o", "warned", batch_of(1).restaurants)
    (job_id,) = [j.job_id for j in store.job_summaries(batch_id)]
    for spec in PLAN:
        warning = "Stripe not connected" if spec.key.value == "paymentConfig" else None
        store.record_sub_step(job_id, spec.key.value, "completed", 0, warning=warning)
    store.record_job(job_id, "completed")
    shown = yolobatch("status", batch_id, data_dir=tmp_path, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "1 with warnings" in shown.stdout and shown.stdout.count("⚠") == 2, shown.stdout
