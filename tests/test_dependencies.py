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
