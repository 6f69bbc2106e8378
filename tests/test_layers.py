"""The package's structure: imports go one way down the pipeline's layers, no cycles, no blanket excepts.

Read from the source with ``ast`` (nothing is imported): every ``import
model.x``, ``from model.x import y`` and relative import, at module level or
inside a function, is an edge from the importing module to the imported one.
A module may import only from its own layer or lower ones:

    0  model (the package's __init__), model.data, model.errors
    1  model.workbook        read, validate, schema, write
    1  model.scenarios       scenarios applied to the workbook's records
    2  model.formulation     sets, variables, constraints, objective
    3  model.solver          hand-off and HiGHS
    4  model.console         what a run prints (plain tables in, text out; imports nothing of the package)
    4  model.results         extract, verify, report, explain
    5  model.pipeline        the whole run on plain data
    6  model.batch           runs of many variants, in process or on Dask workers
    6  model.studies         the frontier, Monte Carlo and the two-stage choice, made of batch runs
    7  model.cli             command line
    8  model.bench           benchmarks: nothing in the product imports them, except
    3  model.bench.matrix    the NumPy build of the LP, which batch re-solves take their numbers from

Each test lists every violation in its message, file and line, so one run
shows all there is to fix.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "model"
LAYERS = {
    "model": 0,
    "model.data": 0,
    "model.errors": 0,
    "model.workbook": 1,
    "model.scenarios": 1,
    "model.formulation": 2,
    "model.solver": 3,
    "model.console": 4,
    "model.results": 4,
    "model.pipeline": 5,
    "model.batch": 6,
    "model.studies": 6,  # frontier, Monte Carlo, two-stage: made of batch runs
    "model.cli": 7,
    "model.bench": 8,
    "model.bench.matrix": 3,  # the NumPy build of the LP: batches re-solve with its numbers (model/batch/reuse.py)
}
BLANKET = {"Exception", "BaseException"}
LAST_RESORT = {"model/cli.py"}  # turns any failure into a message and an exit status


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


MODULES = module_files()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def layer(name: str) -> int | None:
    """Rank of the longest entry of LAYERS that is ``name`` or a package above it."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        rank = LAYERS.get(".".join(parts[:end]))
        if rank is not None and (end > 1 or len(parts) == 1):
            return rank
    return None


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """Absolute module named by a ``from ... import``, relative ones resolved."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package(importer) else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str, source: str | None = None) -> list[tuple[str, int]]:
    """(imported module of the package, line) for every import in module ``name`` (or in ``source`` as if it)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8") if source is None else source, str(MODULES[name]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node)
            for alias in node.names:
                # `from model.x import y` imports the module model.x.y when there is one, else a name of model.x
                submodule = f"{module}.{alias.name}"
                found.append((submodule if submodule in MODULES else module, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, node.lineno))
    # the nearest module of the package: `import model.x.y` may name a name-less package path too
    edges = []
    for target, line in found:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target.split(".")[0] == "model" and target != name:
            edges.append((target, line))
    return edges


GRAPH = {name: imports(name) for name in MODULES}


def where(name: str, line: int | None = None) -> str:
    path = MODULES[name].relative_to(ROOT).as_posix()
    return path if line is None else f"{path}:{line}"


def test_every_module_has_a_layer():
    unplaced = [where(name) for name in MODULES if layer(name) is None]
    assert not unplaced, "modules in no layer (add their package to LAYERS in tests/test_layers.py):\n" + "\n".join(
        unplaced
    )


def test_imports_go_down_the_layers():
    violations = [
        f"{where(name, line)}: {name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
        for name, edges in GRAPH.items()
        for target, line in edges
        if None not in (layer(name), layer(target)) and layer(target) > layer(name)
    ]
    assert not violations, "imports from a higher layer:\n" + "\n".join(violations)


def test_no_import_cycles():
    # Depth-first search; an edge back to a module still on the path closes
    # a cycle.  Each cycle is listed once, with the lines of its imports.
    targets = {name: sorted({target for target, _ in edges}) for name, edges in GRAPH.items()}
    on_path: dict[str, int] = {}
    done: set[str] = set()
    path: list[str] = []
    cycles: dict[tuple[str, ...], list[str]] = {}

    def visit(name: str) -> None:
        on_path[name] = len(path)
        path.append(name)
        for target in targets[name]:
            if target in on_path:
                cycle = path[on_path[target] :]
                start = cycle.index(min(cycle))
                cycles.setdefault(tuple(cycle[start:] + cycle[:start]), [*cycle, target])
            elif target not in done:
                visit(target)
        path.pop()
        del on_path[name]
        done.add(name)

    for name in sorted(GRAPH):
        if name not in done:
            visit(name)

    def shown(cycle: list[str]) -> str:
        steps = []
        for name, target in zip(cycle[:-1], cycle[1:], strict=True):
            lines = sorted({line for t, line in GRAPH[name] if t == target})
            steps.append(f"{where(name)}:{','.join(map(str, lines))} {name}")
        return " -> ".join([*steps, cycle[-1]])

    assert not cycles, "import cycles (file:lines of each import):\n" + "\n".join(shown(c) for c in cycles.values())


def _blanket(handler: ast.ExceptHandler) -> str | None:
    """'except:' / 'except Exception' / 'except BaseException' (also in a tuple), else None."""
    if handler.type is None:
        return "except:"
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for node in names:
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name in BLANKET:
            return f"except {name}"
    return None


def test_no_blanket_except_outside_the_command_line():
    violations = []
    for name, path in MODULES.items():
        if where(name) in LAST_RESORT:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and (kind := _blanket(node)):
                violations.append(f"{where(name, node.lineno)}: {kind}")
    assert not violations, (
        "blanket excepts (catch what you expect; only model/cli.py turns any failure into a message):\n"
        + "\n".join(violations)
    )


def test_the_reading_of_imports_sees_every_form():
    # The tests above pass trivially if the reading misses a form of import.
    source = """
import os
import model.workbook.read
from model.errors import InputError
from model import data
from . import sets
from .sets import ModelSets
from ..workbook.read import read_workbook
from .. import errors


def later():
    import model.solver
    from model.results import extract
    return importlib.import_module("model.cli")
"""
    found = imports("model.formulation.build", source)
    assert found == [
        ("model.workbook.read", 3),
        ("model.errors", 4),
        ("model.data", 5),
        ("model.formulation.sets", 6),
        ("model.formulation.sets", 7),
        ("model.workbook.read", 8),
        ("model.errors", 9),
        ("model.solver", 13),
        ("model.results.extract", 14),
        ("model.cli", 15),
    ], found
    assert layer("model") == 0 and layer("model.workbook.read") == 1 and layer("model.bench.run") == 8
    assert len(GRAPH) == len(MODULES) > 10 and sum(map(len, GRAPH.values())) > 50
