"""`python -m yolobatch.devtools.sandbox [OPTIONS]`: the sandbox without the CLI's other commands (same
options as `yolobatch sandbox`)."""

import typer

from yolobatch.cli.tools import sandbox_command

if __name__ == "__main__":
    typer.run(sandbox_command)
