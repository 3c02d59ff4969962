"""The package's layout (issue 20): no import circles, no arrow back up, no file over 600 lines.

Imports are read from the source (``ast``), at any depth of a module (a function's local
import counts: it is an arrow all the same). Only imports of other ``helpers`` modules are
edges of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
MAX_LINES = 600

#: LIME's core from the top down: a module may import only modules of a lower layer (or of its
#: own layer, where listed). Entry points call the driver, which fits through the fitting
#: layer, which builds the record; the steps, the settings' rules and the plumbing are below.
LAYERS: list[set[str]] = [
    {"explain", "metrics", "shapley"},  # entry points: LIME in one call, its evaluation
    {"auto_samples"},  # num_samples="auto": rounds of samples until the top k is stable
    {"fitting"},  # steps 4 and 5 without a model; builds the record
    {"explanation"},  # the record
    {"uncertainty"},  # how far its weights can be trusted: errors, intervals, top-k stability
    {"explanation_file", "recipes"},  # its file format; the settings
    {"prediction"},  # step 3
    {"perturbation", "kernels", "surrogates", "paper"},  # steps 2, 4, 5; published numbers
    {"segmentation"},  # step 1
    {"validation", "setting_checks", "files", "settings"},  # plumbing
]


def _imports(path: Path) -> set[str]:
    """The ``helpers`` modules that ``path`` imports (relative or absolute, any depth)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith("helpers."):
                found.add(node.module.split(".")[1])
            elif node.level == 0 and node.module == "helpers":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the ``helpers`` modules it imports, for every ``helpers/*.py``."""
    modules = {p.stem: p for p in HELPERS.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path) & set(modules) - {name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_planted_circle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    assert cycles(graph()) == []


def test_no_arrow_runs_back_up_the_core():
    layer = {name: depth for depth, names in enumerate(LAYERS) for name in names}
    edges = graph()
    assert set(layer) <= set(edges), f"unknown modules in LAYERS: {set(layer) - set(edges)}"
    upward = sorted(
        f"{a} -> {b}"
        for a, targets in edges.items()
        if a in layer
        for b in targets
        if (b in layer and layer[b] < layer[a]) or (b in layer and layer[b] == layer[a])
    )
    assert upward == [], "imports that run back up (or sideways) the core layers: " + ", ".join(
        upward
    )


def test_the_record_imports_no_lime_step_and_no_fitting():
    assert graph()["explanation"] <= {"explanation_file", "recipes", "surrogates", "uncertainty"}
    # its uncertainty reads the fit and nothing else of LIME: no step, no fitting, no model
    assert graph()["uncertainty"] <= {"surrogates", "setting_checks", "validation"}


def test_no_helpers_file_over_600_lines():
    long = {
        p.name: n
        for p in sorted(HELPERS.glob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"files over {MAX_LINES} lines: {long}"
