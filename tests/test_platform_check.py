"""`yolobatch platform check`: passes against the sandbox (both contracts) and fails, naming the operation,
against platforms that break the contract (sandbox fault modes, a platform ignoring idempotency keys)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from yolobatch.devtools.sandbox.server import RunningSandbox, start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.plan import SubStep
from yolobatch.engine.devserver import free_port
from yolobatch.integrations.registration.conformance import check_platform

KEY = "sandbox-service-key"
YOLOBATCH = [sys.executable, "-m", "yolobatch"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(
        [*YOLOBATCH, "platform", "check", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def original_sandbox():
    running = start_in_thread(SandboxSettings(contract="original", time_scale=0.002, jitter=0))
    yield running
    running.stop()


def seed(sandbox: RunningSandbox, org: str) -> None:
    menu = {
        "categories": [
            {
                "name": "Mains",
                "items": [{"name": "A", "price": "5.00", "image_url": "https://images.example.com/a.jpg"}],
            }
        ]
    }
    body = {
        "orgId": org,
        "restaurantId": "R-check",
        "name": "Check Diner",
        "primaryColor": "#112233",
        "secondaryColor": "#445566",
        "menus": {"M-check": menu},
    }
    httpx.post(f"{sandbox.url}/_sandbox/platform-restaurants", json=body).raise_for_status()


async def test_every_check_passes_against_the_contract_sandbox(world):
    checks = await check_platform(world.url, KEY, "org-check", timeout_scale=0.05, poll_interval=0.05)
    assert [c for c in checks if not c.ok] == []
    names = {c.name for c in checks}
    assert {str(key) for key in SubStep} <= names
    assert "idempotent replay (restaurantRegistration)" in names and "idempotency key reuse (422)" in names
    upload = next(c for c in checks if c.name == "uploadImages")
    assert "asynchronous upload polled to completion" in upload.detail
    state = httpx.get(f"{world.url}/_sandbox/state").json()
    assert state["duplicates"] == []


async def test_a_429_with_retry_after_is_honoured_not_counted_against_the_platform(world):
    fault = {"endpoint": "configure-services", "fault": "429", "retry_after": 0, "times": 2}
    httpx.post(f"{world.url}/_sandbox/faults", json=fault).raise_for_status()
    checks = await check_platform(world.url, KEY, "org-429", timeout_scale=0.05, poll_interval=0.05)
    services = next(c for c in checks if c.name == "servicesConfig")
    assert services.ok and "after 2 × 429" in services.detail


async def test_a_429_without_end_fails_naming_the_operation(world):
    fault = {"endpoint": "configure-payment", "fault": "429", "retry_after": 0, "times": 10}
    httpx.post(f"{world.url}/_sandbox/faults", json=fault).raise_for_status()
    checks = await check_platform(world.url, KEY, "org-429-forever", timeout_scale=0.05, poll_interval=0.05)
    payment = next(c for c in checks if c.name == "paymentConfig")
    assert not payment.ok and "429" in payment.detail


def test_the_command_exits_0_and_prints_what_conforms(world):
    result = cli("--url", world.url, "--key", KEY, "--org", "org-cli", "--time-scale", "0.05")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "conforms         restaurantRegistration" in result.stdout
    assert "DOES NOT CONFORM" not in result.stdout
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("endpoint", "fault", "operation"),
    [
        ("configure-services", "garbage", "servicesConfig"),
        ("configure-payment", "500", "paymentConfig"),
        ("import-menu-direct", "success_false", "menuImport"),
        ("generate-code-injections", "400", "codeGeneration"),
    ],
)
def test_a_broken_platform_fails_naming_the_operation(world, endpoint, fault, operation):
    httpx.post(f"{world.url}/_sandbox/faults", json={"endpoint": endpoint, "fault": fault}).raise_for_status()
    result = cli("--url", world.url, "--key", KEY, "--org", f"org-{fault}", "--time-scale", "0.05")
    assert result.returncode == 1, result.stdout
    assert f"DOES NOT CONFORM {operation}:" in result.stdout
    assert f"not conforming: {operation}" in result.stdout


async def test_a_platform_ignoring_idempotency_keys_does_not_conform(original_sandbox):
    """The original service checked against yolobatch's contract: it does not know our restaurant ids and
    would duplicate on replay — every operation and the replay are named."""
    checks = await check_platform(original_sandbox.url, KEY, "org-x", "contract", timeout_scale=0.05)
    failed = {c.name for c in checks if not c.ok}
    assert {str(key) for key in SubStep} <= failed
    assert "idempotent replay (restaurantRegistration)" in failed
    account = next(c for c in checks if c.name == "cloudwaitressAccount")
    assert "Restaurant not found" in account.detail


def test_the_original_contract_check_passes_against_the_original_sandbox(original_sandbox):
    seed(original_sandbox, "org-original-check")
    result = cli(
        "--url", original_sandbox.url, "--key", KEY, "--org", "org-original-check", "--contract", "original",
        "--restaurant-id", "R-check", "--menu-id", "M-check", "--time-scale", "0.05",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for read in ("verify cloudwaitressAccount", "verify restaurantRegistration", "verify codeGeneration"):
        assert f"conforms         {read}: after the call the read says done" in result.stdout


def test_wrong_key_fails_without_printing_it(world):
    secret = "wrong-key-" + "5" * 20
    result = cli("--url", world.url, "--key", secret, "--org", "org-k", "--time-scale", "0.05")
    assert result.returncode == 1
    assert "DOES NOT CONFORM cloudwaitressAccount: HTTP 401" in result.stdout
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "legacy"], "'contract', 'original'"),  # the choices, listed by the CLI
        (["--contract", "original"], "--restaurant-id and --menu-id"),
    ],
)
def test_bad_options_are_refused_clearly(args, message):
    result = cli("--url", "http://127.0.0.1:9", "--key", "k", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_the_cli_module_is_registered_with_one_line():
    source = (Path(__file__).parents[1] / "src" / "yolobatch" / "cli" / "__init__.py").read_text()
    assert source.count("platform_app") == 2  # its import and add_typer


def test_yolobatch_sandbox_contract_original_serves_the_original_contract(tmp_path):
    port = free_port()
    env = {**os.environ, "YOLOBATCH_DATA_DIR": str(tmp_path)}
    args = [*YOLOBATCH, "sandbox", "--port", str(port), "--contract", "original", "--time-scale", "0.01"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        headers = {"X-Service-Key": KEY, "X-Organisation-ID": "org-1"}
        body = {
            "restaurantId": "job-uuid-not-a-platform-id",
            "email": "a@example.com",
            "password": "Secret123!",
        }
        unknown = httpx.post(f"{url}/api/registration/register-account", json=body, headers=headers)
        assert unknown.status_code == 404 and unknown.json() == {
            "success": False,
            "error": "Restaurant not found",
        }
        assert httpx.get(f"{url}/api/registration/status/x", headers=headers).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)
