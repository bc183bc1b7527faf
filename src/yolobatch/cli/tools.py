"""Developer tools reachable from the CLI: the benchmark and the sandbox registry."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Literal

import typer

from yolobatch.cli.common import Contract


def bench(
    scenario: Annotated[
        Literal["small", "medium", "capped"] | None,
        typer.Option(
            help="small (10 restaurants, cap 8), medium (50, cap 20) or capped (50, cap 8, an account every "
            "20 s); default all"
        ),
    ] = None,
    time_scale: Annotated[
        float, typer.Option(min=0.001, max=1, help="1 s of the platform = this many s")
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on the last line")] = False,
) -> None:
    """Run the makespan benchmark: a batch against a local sandbox vs its lower bound and the original's
    phase-barrier schedule (needs nothing running; takes a few minutes)."""
    from yolobatch.devtools import bench as harness

    names: list[str] = [scenario] if scenario else list(harness.SCENARIOS)
    results = asyncio.run(harness.run(names, time_scale))
    print(harness.table(results), flush=True)
    if as_json:
        print(json.dumps(results), flush=True)


def sandbox_command(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    time_scale: Annotated[
        float,
        typer.Option(envvar="YOLOBATCH_TIME_SCALE", help="Multiplies the platform's real latencies"),
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the faults' and latencies' randomness")] = 0,
    fault_rate_5xx: Annotated[
        float, typer.Option(min=0, max=1, help="Share of calls answered with a 5xx")
    ] = 0.0,
    fault_rate_429: Annotated[
        float, typer.Option(min=0, max=1, help="Share of calls answered 429 Too Many Requests")
    ] = 0.0,
    fault_rate_timeout: Annotated[
        float, typer.Option(min=0, max=1, help="Share of calls that hang past their timeout")
    ] = 0.0,
    jitter: Annotated[float, typer.Option(min=0, max=1, help="± fraction of each latency (0: exact)")] = 0.2,
    contract: Annotated[
        Contract, typer.Option(help="contract (yolobatch's, idempotent) or original (the original service's)")
    ] = "contract",
) -> None:
    """Serve the emulated platform API (registration endpoints, faults, /_sandbox/state)."""
    from yolobatch.devtools.sandbox.server import serve
    from yolobatch.devtools.sandbox.settings import SandboxSettings
    from yolobatch.domain.org_platform import BadPlatform, contract_named
    from yolobatch.settings import Settings

    try:
        contract_name = contract_named(contract)
    except BadPlatform as exc:
        raise typer.BadParameter(str(exc), param_hint="--contract") from None
    settings = SandboxSettings(
        time_scale=time_scale,
        seed=seed,
        fault_rate_5xx=fault_rate_5xx,
        fault_rate_429=fault_rate_429,
        fault_rate_timeout=fault_rate_timeout,
        jitter=jitter,
        service_key=Settings().registration_service_key.get_secret_value(),
        contract=contract_name,
    )
    serve(settings, host, port)
