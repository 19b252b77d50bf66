"""The package's layers (docs/architecture.md): no module imports from a layer above its own.

The flow read -> encode -> batch -> model -> run -> tasks -> API/CLI is also the import order: a module
may import from its own layer and the layers below. Every import counts: those inside functions and
those inside ``if TYPE_CHECKING:`` too (a type hint that names a higher layer is a dependency on it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "seqrnn"

# Longest prefix wins. Keep in step with the table in docs/architecture.md.
LAYERS: dict[str, int] = {
    # 0 foundations: errors, version, names, logging, memory, device/precision, atomic files, shipped
    # resources
    "seqrnn.errors": 0,
    "seqrnn.version": 0,
    "seqrnn.core": 0,
    "seqrnn.io.files": 0,
    "seqrnn.io.checksums": 0,
    "seqrnn.resources": 0,
    # 1 read and write: input files -> records, genome, VCF, HDF5, the predictions and variant files
    "seqrnn.io": 1,
    # 2 encode: alphabets and tokens, SMILES chemistry, views, records -> examples -> padded batches
    "seqrnn.encoding": 2,
    # 3 model: BiRNN, heads, metrics, bundles and the built-in models
    "seqrnn.models": 3,
    # 4 run a model: the batch runner, the engine, the predict pipeline, evaluation, exports
    "seqrnn.inference": 4,
    # 5 tasks built on running models: training, interpretation, variant effects and tracks
    "seqrnn.training": 5,
    "seqrnn.interpret": 5,
    "seqrnn.variants": 5,
    # 6 the Python API
    "seqrnn.api": 6,
    "seqrnn": 6,  # the package __init__: the public API
    # 7 the command line
    "seqrnn.__main__": 7,
    "seqrnn.cli": 7,
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


def imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every ``seqrnn`` import, wherever it stands."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
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
        for line, name in imports(tree, module, path.name == "__init__.py")
        if layer(name) > own
    ]
    assert not upward, f"{module} (layer {own}) imports from higher layers: {upward}"


def test_the_checker_sees_upward_imports() -> None:
    tree = ast.parse("def f():\n    from seqrnn.inference.pipeline import predict_to_h5\n")
    assert [layer(n) for _, n in imports(tree, "seqrnn.io.inputs", False)] == [4]
    typed = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from seqrnn.models.bundle import X\n"
    )
    assert [layer(n) for _, n in imports(typed, "seqrnn.io.inputs", False)] == [3]


def test_modules_stay_readable() -> None:
    """No module grows past 400 lines; split it along the data flow instead."""
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"


def test_functions_stay_short() -> None:
    """No function is over 80 lines; a CLI command's option list (its signature) is not counted."""
    long = []
    for path in MODULES:
        cli = path.parent.name == "cli"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = node.body[0].lineno if cli else node.lineno
                if node.end_lineno - start + 1 > 80:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert not long, f"functions over 80 lines: {long}"


def test_few_modules_at_the_package_root() -> None:
    """What users touch sits at the root; everything else lives in a folder per layer."""
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 6, root
