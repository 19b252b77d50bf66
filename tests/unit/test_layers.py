"""The package's layers (docs/architecture.md): no module imports from a layer above its own.

The flow read -> encode -> batch -> model -> run -> tasks -> API/CLI is also the import order: a module
may import from its own layer and the layers below. Imports inside ``if TYPE_CHECKING:`` are for type
hints only and are not counted; imports inside functions are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "seqrnn"

# Longest prefix wins. Keep in step with the table in docs/architecture.md.
LAYERS: dict[str, int] = {
    # 0 foundations: errors, names, logging, atomic files
    "seqrnn.errors": 0,
    "seqrnn.registry": 0,
    "seqrnn.version": 0,
    "seqrnn.logs": 0,
    "seqrnn.memory": 0,
    "seqrnn.io.files": 0,
    # 1 read and write: input files -> records, label cells, output formats, metrics maths
    "seqrnn.data.records": 1,
    "seqrnn.data.labels": 1,
    "seqrnn.data.formats": 1,
    "seqrnn.data.inputs": 1,
    "seqrnn.data": 1,  # the package __init__ (formats, records)
    "seqrnn.io": 1,
    "seqrnn.metrics": 1,
    "seqrnn.decisions": 1,
    "seqrnn.motifs": 1,
    # 2 encode: alphabets and tokens, SMILES chemistry, views, splits, records -> examples
    "seqrnn.encoders": 2,
    "seqrnn.chem": 2,
    "seqrnn.data.augment": 2,
    "seqrnn.data.dna": 2,
    "seqrnn.data.splits": 2,
    "seqrnn.data.synthetic": 2,
    "seqrnn.data.examples": 2,
    # 3 batch
    "seqrnn.data.batching": 3,
    # 4 model: BiRNN and heads
    "seqrnn.models": 4,
    # 5 run a model: bundles, config, shipped configs and workflow, device/precision, the CPU batch
    # runner, inference
    "seqrnn.bundle": 5,
    "seqrnn.config": 5,
    "seqrnn.config_parse": 5,
    "seqrnn.zoo": 5,
    "seqrnn.resources": 5,
    "seqrnn.runtime": 5,
    "seqrnn.runner": 5,
    "seqrnn.inference": 5,
    # 6 tasks: predict, evaluate, train, interpret, merge, export, plot, encode
    "seqrnn.prediction": 6,
    "seqrnn.evaluation": 6,
    "seqrnn.training": 6,
    "seqrnn.interpret": 6,
    "seqrnn.merge": 6,
    "seqrnn.export": 6,
    "seqrnn.plot": 6,
    "seqrnn.encode": 6,
    "seqrnn.variants": 6,  # variant effects and genome tracks: VCF reading, scoring, files, exports, API
    # 7 surfaces
    "seqrnn.api": 7,
    "seqrnn": 7,  # the package __init__: the public API
    "seqrnn.__main__": 8,
    "seqrnn.cli": 8,
}


def layer(module: str) -> int:
    """The layer of a dotted module name (longest matching prefix of LAYERS)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return LAYERS[name]
    raise KeyError(f"{module}: not in the layer table (add it to LAYERS and docs/architecture.md)")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every import not under ``if TYPE_CHECKING:``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.append((child.lineno, base))
            visit(child)

    visit(tree)
    return [(line, name) for line, name in found if name == "seqrnn" or name.startswith("seqrnn.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    for path in MODULES:
        layer(module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_from_a_higher_layer(path: Path) -> None:
    module = module_name(path)
    own = layer(module)
    tree = ast.parse(path.read_text())
    upward = [
        f"line {line}: {name} (layer {layer(name)})"
        for line, name in runtime_imports(tree, module, path.name == "__init__.py")
        if layer(name) > own
    ]
    assert not upward, f"{module} (layer {own}) imports from higher layers: {upward}"


def test_the_checker_sees_upward_imports() -> None:
    tree = ast.parse("def f():\n    from seqrnn.prediction import predict_to_h5\n")
    assert [layer(n) for _, n in runtime_imports(tree, "seqrnn.data.inputs", False)] == [6]
    typed = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from seqrnn.bundle import X\n"
    )
    assert runtime_imports(typed, "seqrnn.data.inputs", False) == []


def test_modules_stay_readable() -> None:
    """No module grows past 450 lines (docs/architecture.md); split it along the data flow instead."""
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) >= 450}
    assert not long, f"modules of 450 lines or more: {long}"
