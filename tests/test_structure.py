"""The package's shape: no import cycles, layers that import only downwards, short functions.

The import graph is read from the source (``ast``), every ``import`` counted wherever it
stands: at module level, under ``if TYPE_CHECKING:`` and inside functions (a lazy import
is still a dependency, only a later one).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
MAX_FUNCTION_LINES = 60
LAYERS = {  # a module may import its own layer and those listed after its layer's name
    "sim.ema": ("sim.experiment", "sim.model", "sim.config", "sim.base"),
    "sim.cli": (
        "sim.calibration",
        "sim.analysis",
        "sim.experiment",
        "sim.model",
        "sim.config",
        "sim.base",
    ),
    "sim.calibration": ("sim.analysis", "sim.experiment", "sim.model", "sim.config", "sim.base"),
    "sim.analysis": ("sim.experiment", "sim.model", "sim.config", "sim.base"),
    "sim.experiment": ("sim.model", "sim.config", "sim.base"),
    "sim.model": ("sim.config", "sim.base"),
    "sim.config": ("sim.base",),
}
"""``sim.base`` stands for the modules at the package's top that are not a layer of their
own (``sim.tables``, ``sim.arrow``, ``sim.clock``, ``sim.streams``, ...)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The ``sim`` modules that ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..a import b
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # ``from sim.x import y`` imports sim.x.y if a module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def layer(name: str) -> str:
    if name == "sim.__main__":  # ``python -m sim``: the command line
        return "sim.cli"
    return next((lay for lay in LAYERS if name == lay or name.startswith(lay + ".")), "sim.base")


def test_the_graph_sees_the_imports_it_must():
    """A live oracle for the parser: imports known to exist are found, of every kind."""
    assert "sim.config.schema" in GRAPH["sim.model.world"]  # module level
    assert "sim.experiment.executors" in GRAPH["sim.experiment.runner"]
    lazy = [n for n, deps in GRAPH.items() if "sim.experiment.sweep" in deps]
    assert "sim.cli" in lazy  # a lazy import inside a command function


def test_no_import_cycle_in_sim():
    try:
        order = list(graphlib.TopologicalSorter(GRAPH).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
    assert set(order) == set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_import_only_downwards(name):
    allowed = {layer(name), *LAYERS.get(layer(name), ("sim.base",))}
    if layer(name) == "sim.base":  # the shared base imports no layer at all
        allowed = {"sim.base"}
    upward = sorted(dep for dep in GRAPH[name] if layer(dep) not in allowed)
    assert not upward, f"{name} ({layer(name)}) imports from a layer above it: {upward}"


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    text = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if text and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def test_no_function_longer_than_the_limit():
    """Lines of code: a numpydoc docstring is the reference, not length to cut."""
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1 - _docstring_lines(node)
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name} ({lines} lines)")
    assert not long, f"functions longer than {MAX_FUNCTION_LINES} lines: {', '.join(long)}"
