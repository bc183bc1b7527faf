"""The `yolobatch` command line: this module wires the commands, in the order `--help` lists them;
each job lives in its own module (batch, serve, admin, tools, extract, platform, outputs, rerun, menu;
render and prompts for the terminal)."""

from __future__ import annotations

import sys

from yolobatch.cli import admin, batch, outputs, serve, tools
from yolobatch.cli.common import app
from yolobatch.cli.extract import extract as extract_command
from yolobatch.cli.menu import menu
from yolobatch.cli.org import org_app
from yolobatch.cli.platform import app as platform_app
from yolobatch.cli.rerun import rerun
from yolobatch.cli.serve import _api_server, _dashboard_port, api_app, sandbox_settings

app.command()(batch.run)
app.command()(batch.demo)
app.command()(serve.up)
app.command()(serve.engine)
app.command()(serve.api)
app.command()(serve.worker)
app.add_typer(admin.token_app, name="token")
app.add_typer(org_app, name="org")
app.command(name="login-link")(admin.login_link)
app.command(name="rotate-secrets")(admin.rotate_secrets)
app.command()(admin.reconcile)
app.command()(tools.bench)
app.command(name="sandbox")(tools.sandbox_command)
app.command()(batch.batches)
app.command()(batch.status)
app.add_typer(batch.step_app, name="step")
app.command()(rerun)
app.command()(menu)
app.command()(batch.cancel)
# Its own module (step 1's preview); registered here so that `yolobatch extract` exists.
app.command(name="extract")(extract_command)
app.add_typer(platform_app, name="platform")
app.command(name="export")(outputs.export)
app.command(name="reveal-password")(outputs.reveal_password)

__all__ = ["_api_server", "_dashboard_port", "api_app", "app", "main", "sandbox_settings"]


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())
