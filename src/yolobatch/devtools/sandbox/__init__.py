"""An emulation of the platform's registration API: real HTTP, state, latency, faults and its hazards.

Tests and demos point the orchestrator at it and then inspect `/_sandbox/state` to prove that no side
effect happened twice.
"""

from yolobatch.devtools.sandbox.app import create_app
from yolobatch.devtools.sandbox.server import RunningSandbox, serve, start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings

__all__ = ["RunningSandbox", "SandboxSettings", "create_app", "serve", "start_in_thread"]
