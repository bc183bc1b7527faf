"""The package's layout, read from the source (AST, nothing imported): imports only point down the layers,
dev tools stay fenced, and no module outgrows 600 lines.

Layers, bottom up (a module may import its own layer and those below):
  0 domain                      the vocabulary and rules, no I/O
  1 settings, logs              configuration and log setup: read by every layer, import only domain
  2 integrations, store         the outside world (platform, registries, extraction) and the database
  3 engine                      Temporal workflows, activities, workers
  4 service, telemetry          use cases; telemetry instruments the engine's client and workers
  5 http, api, web, cli, terminal, __main__   the shells (terminal is the CLI's rendering helpers)
Dev tools (sandbox, demo, bench) may import anything, but only the CLI and other dev tools import them, and
the CLI only inside a function, so the core runs without them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yolobatch

ROOT = Path(yolobatch.__file__).parent
LAYERS = {
    "domain": 0,
    "settings": 1,
    "logs": 1,
    "integrations": 2,
    "store": 2,
    "engine": 3,
    "service": 4,
    "telemetry": 4,
    "http": 5,
    "api": 5,
    "web": 5,
    "cli": 5,
    "terminal": 5,
    "__main__": 5,
    "__init__": 5,
}
DEVTOOLS = {"sandbox", "demo", "bench", "devtools"}  # `devtools`: their fenced home (issue 14, item 5)
SHELLS_APART = {("api", "web"), ("web", "api")}  # the API and the dashboard share `http`, not each other
MAX_LINES = 600
# Known violations, each with why it stays for now; a new one fails the test. Empty: keep it so.
ALLOWED: set[tuple[str, str]] = set()


def _part(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(imported top-level yolobatch part, at module level?) for every absolute import in the module."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "yolobatch" and len(parts) > 1:
                found.append((parts[1], id(node) in top))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_top_level_part_has_a_layer():
    parts = {_part(p) for p in _modules()}
    assert parts - set(LAYERS) - DEVTOOLS == set(), "give the new package a layer in LAYERS (and say why)"


def test_no_relative_imports():
    # The layer check reads absolute names only; a relative import would slip past it.
    relative = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(p.read_text())))
    ]
    assert relative == []


def test_imports_point_down_and_dev_tools_stay_fenced():
    problems = []
    for path in _modules():
        source = _part(path)
        for target, at_module_level in _imports(ast.parse(path.read_text())):
            if target == source or (source, target) in ALLOWED:
                continue
            where = f"{path.relative_to(ROOT)} imports yolobatch.{target}"
            if target in DEVTOOLS:
                if source == "cli" and at_module_level:
                    problems.append(f"{where} at module level (import dev tools inside the command)")
                elif source not in DEVTOOLS | {"cli"}:
                    problems.append(f"{where}: the core never imports dev tools")
            elif source in DEVTOOLS:
                continue
            elif target not in LAYERS:
                problems.append(f"{where}: unknown part")
            elif LAYERS[target] > LAYERS[source]:
                problems.append(f"{where}: upward ({source}={LAYERS[source]} < {target}={LAYERS[target]})")
            elif (source, target) in SHELLS_APART:
                problems.append(f"{where}: the shells share http, not each other")
    assert problems == []


def test_no_module_over_600_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, "split a cohesive part into a module of its own"


def test_the_layout_test_sees_an_upward_import():
    # The walker itself must find imports wherever they sit, or every check above passes vacuously.
    tree = ast.parse("import yolobatch.service.x\n\ndef f():\n    from yolobatch.sandbox import server\n")
    assert _imports(tree) == [("service", True), ("sandbox", False)]
