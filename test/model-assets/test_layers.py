"""The training pipeline's imports run one way, lowest layer first:

    base (paths, contract, figures) -> data -> scoring -> embed, irt -> predict -> policy -> export
    -> onboard -> eval -> commands (build, eval's CLI)

and no module reaches itself through them. The graph is read from the source (``ast``), every
``import`` counted wherever it sits, inside a function too: a function-level import is still a
dependency, and one that goes back down a cycle only hides it until the function runs.
"""
from __future__ import annotations

import ast
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[2] / "model-assets" / "trainer"

#: Lowest first. A module belongs to the longest prefix listed; it may import modules of its own
#: rank or lower. Commands are the entry points that wire every layer together.
LAYERS: list[tuple[str, ...]] = [
    ("trainer", "trainer.paths", "trainer.contract", "trainer.figures"),
    ("trainer.data",),
    ("trainer.scoring",),
    ("trainer.embed", "trainer.common_embed", "trainer.irt"),
    ("trainer.predict",),
    ("trainer.policy",),
    ("trainer.export",),
    ("trainer.onboard",),
    ("trainer.eval",),
    ("trainer.build", "trainer.eval.__main__"),
]


def module_name(path: Path) -> str:
    """``trainer/eval/served.py`` -> ``trainer.eval.served``; a package's ``__init__`` is the package.

    @example
        >>> module_name(TRAINER / "eval" / "__init__.py"), module_name(TRAINER / "eval" / "served.py")
        ('trainer.eval', 'trainer.eval.served')
    """
    parts = list(path.relative_to(TRAINER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the pipeline by name."""
    return {module_name(p): p for p in sorted(TRAINER.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The pipeline modules ``name`` imports, anywhere in its source. ``from pkg import x`` names
    the submodule ``pkg.x`` when there is one, else ``pkg`` itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def rank(name: str) -> int:
    """The layer of a module: the longest prefix in ``LAYERS`` that it is or sits under.

    @example
        >>> rank("trainer.eval.served") > rank("trainer.onboard.served") > rank("trainer.data.table")
        True
        >>> rank("trainer.eval.__main__") == len(LAYERS) - 1
        True
    """
    best, best_len = -1, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), members sorted.

    @example
        >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
        [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if rank(m) < 0] == []


def test_the_graph_sees_imports_inside_functions() -> None:
    # trainer.eval.__main__ reaches the onboarding benchmark only inside main(): still an edge.
    assert "trainer.onboard.evaluate" in graph()["trainer.eval.__main__"]


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_imports_run_down_the_layers() -> None:
    upward = sorted(f"{a} -> {b}" for a, deps in graph().items() for b in deps if rank(b) > rank(a))
    assert upward == []
