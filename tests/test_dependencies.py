"""Dependencies point one way: lower layers never import the ones built on them (not even inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBROBOT = Path(__file__).resolve().parents[1] / "librobot"

# package -> packages it must not import: what runs a policy does not know how policies are evaluated,
# trained or orchestrated; the library does not reach into the checkout's steps/ and pipelines/
FORBIDDEN = {
    "inference": ("librobot.evaluation", "librobot.training", "librobot.serving", "steps", "pipelines"),
    "models": ("librobot.evaluation", "librobot.training", "librobot.inference", "librobot.serving"),
    "data": ("librobot.evaluation", "librobot.training", "librobot.inference", "librobot.serving"),
    "serving": ("librobot.evaluation", "librobot.training", "steps", "pipelines"),
    "robots": ("librobot.evaluation", "librobot.training", "librobot.inference", "librobot.serving"),
    "evaluation": ("librobot.training", "librobot.serving", "steps", "pipelines"),
    "training": ("librobot.evaluation", "librobot.serving", "steps", "pipelines"),
    "cli": ("steps", "pipelines"),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_the_layers_above_it(package):
    offending = {}
    for path in sorted((LIBROBOT / package).rglob("*.py")):
        bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN[package]))
        if bad:
            offending[str(path.relative_to(LIBROBOT.parent))] = bad
    assert not offending, f"imports against the layering: {offending}"


def test_no_module_edits_sys_path():
    edits = [
        p for p in LIBROBOT.rglob("*.py") if "sys.path.insert" in p.read_text() or "sys.path.append" in p.read_text()
    ]
    assert not edits, edits


ROOT = LIBROBOT.parent
OWN = ("librobot", "steps", "pipelines")

# Own-module imports go at the top of the module, where a cycle fails at import instead of hiding until
# a function first runs. Where one waits inside a function, this says why.
DEFERRED_IN = {  # every import inside a function of these files
    "librobot/kubeflow_pipeline.py": "KFP lightweight components: a component's body runs alone in its container",
    "librobot/cli/": "command modules: `librobot --help` imports them all; a command's library (torch, omegaconf, "
    "pyarrow, grpc, kfp) loads when the command runs",
}
DEFERRED = {  # file -> the modules it imports inside a function, and why
    "librobot/client/transport.py": (
        {"librobot.client.http_transport", "librobot.client.grpc_transport"},
        "the transports import this module's errors, and each pulls its own optional client (httpx, grpc)",
    ),
    "librobot/inference/samples.py": (
        {"librobot.data.dataset"},
        "torch: onnx_export imports this module, and torch only where it uses it",
    ),
    "librobot/pipeline_ops.py": (
        {
            "librobot.validation",
            "librobot.validation.presence",
            "librobot.data.dataset",
            "librobot.training.run",
            "librobot.inference.onnx_export",
            "librobot.evaluation.run",
            "librobot.evaluation.runtime_comparison",
        },
        "torch, pandas: `librobot kubeflow compile` imports this module, and a KFP component runs one op",
    ),
}


def _imports_in_functions(source: str) -> list[tuple[int, str]]:
    """(line, module) of each own-module import inside a function body."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names if a.name.split(".")[0] in OWN)
            elif in_function and isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level > 0 or module.split(".")[0] in OWN:
                    found.append((child.lineno, "." * child.level + module))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), False)
    return found


def _misplaced(relative: str, source: str) -> list[str]:
    if any(relative.startswith(prefix) for prefix in DEFERRED_IN):
        return []
    allowed = DEFERRED.get(relative, (set(), ""))[0]
    return [f"{relative}:{line} {module}" for line, module in _imports_in_functions(source) if module not in allowed]


def test_own_modules_are_imported_at_the_top():
    misplaced = []
    for package in OWN:
        for path in sorted((ROOT / package).rglob("*.py")):
            misplaced += _misplaced(path.relative_to(ROOT).as_posix(), path.read_text())
    assert not misplaced, (
        "import these at the top of the module (a cycle then shows at import), or say in DEFERRED why they wait: "
        f"{misplaced}"
    )


@pytest.mark.parametrize("relative", sorted(DEFERRED))
def test_every_deferred_import_is_still_deferred(relative):
    modules = {module for _, module in _imports_in_functions((ROOT / relative).read_text())}
    stale = DEFERRED[relative][0] - modules
    assert not stale, f"{relative} no longer imports {sorted(stale)} inside a function: drop them from DEFERRED"


def test_an_own_import_inside_a_function_is_flagged():
    source = (
        "from librobot.config import load_config\n"
        "def f():\n"
        "    import json\n"
        "    from librobot.bundle import load_bundle\n"
        "    from . import sibling\n"
        "class C:\n"
        "    def g(self):\n"
        "        import librobot.sim\n"
    )
    assert _misplaced("librobot/somewhere.py", source) == [
        "librobot/somewhere.py:4 librobot.bundle",
        "librobot/somewhere.py:5 .",
        "librobot/somewhere.py:8 librobot.sim",
    ]
    assert _misplaced("librobot/cli/somewhere.py", source) == []
    assert _misplaced("librobot/inference/samples.py", source.replace("librobot.bundle", "librobot.data.dataset")) == [
        "librobot/inference/samples.py:5 .",
        "librobot/inference/samples.py:8 librobot.sim",
    ]
