"""The packages import downwards only (docs/architecture.md, "Layers"): core → edge → probes,
loadtests, actions, agent, reports → gameday. A package imports its own modules and those of the layers
below it, never a sibling of its own layer nor one above: nothing imports gameday. The service
under test stands apart: it imports none of the suite, and the suite none of it."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"core": 0, "edge": 1, "probes": 2, "loadtests": 2, "actions": 2, "agent": 2, "reports": 2, "gameday": 3}
APART = "service"


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def may_import(package: str, imported: str) -> bool:
    if imported == package:
        return True
    if APART in (package, imported):
        return False
    return imported not in LAYERS or LAYERS[imported] < LAYERS[package]


def wrong_way_imports() -> list[str]:
    wrong = []
    for package in [*LAYERS, APART]:
        for path in sorted((REPO / package).rglob("*.py")):
            for line, imported in imported_packages(path):
                if (imported in LAYERS or imported == APART) and not may_import(package, imported):
                    wrong.append(f"{path.relative_to(REPO)}:{line} imports {imported}")
    return wrong


def test_every_import_goes_down_the_layers():
    assert wrong_way_imports() == []


def test_the_rule_catches_an_import_going_the_wrong_way():
    assert not may_import("probes", "gameday") and not may_import("probes", "loadtests")
    assert not may_import("core", "edge") and not may_import("service", "core")
    assert may_import("gameday", "probes") and may_import("reports", "edge") and may_import("edge", "core")
