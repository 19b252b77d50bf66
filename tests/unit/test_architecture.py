"""docs/architecture.md against the code: every file and name it mentions exists, and the record path it
lists is the one a real protein prediction takes."""

from __future__ import annotations

import ast
import re
import sys
import threading
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seqrnn"
DOC = (ROOT / "docs" / "architecture.md").read_text()
GOLDEN = ROOT / "tests" / "golden" / "tiny_protein.pt"


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _package_path(token: str) -> Path | None:
    """The package (or repository) path a backticked token names, or None if it names no file."""
    if "<" in token or " " in token or not re.fullmatch(r"[\w./*-]+", token):
        return None
    if not (token.endswith((".py", "/")) and "/" in token.rstrip("/")) and token.rstrip("/") not in {
        p.name for p in PACKAGE.iterdir() if p.is_dir()
    }:
        return None
    if token.startswith(("tests/", "docs/", "seqrnn/")):
        return ROOT / token
    return PACKAGE / token


def _is_file_token(token: str) -> bool:
    return bool(re.fullmatch(r"\w+\.py", token)) and (PACKAGE / token).is_file()


def _defined(path: Path) -> set[str]:
    """Every function, class, method and assigned name of a module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _table(title: str) -> list[list[str]]:
    rows = [line for line in _section(title).splitlines() if line.startswith("| ") and "---" not in line]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def _files(cell: str) -> list[Path]:
    found: list[Path] = []
    for token in _ticked(cell):
        path = PACKAGE / token if _is_file_token(token) else _package_path(token)
        if path is not None:
            found.extend(sorted(path.parent.glob(path.name)) if "*" in token else [path])
    return found


def test_every_path_it_names_exists() -> None:
    paths = {token: _package_path(token) for token in _ticked(DOC)}
    missing = [
        token for token, path in paths.items() if path is not None and not any(path.parent.glob(path.name))
    ]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_every_name_in_the_file_table_is_defined_there() -> None:
    missing = []
    for files_cell, holds in _table("Which file holds what"):
        files = _files(files_cell)
        assert files, files_cell
        defined = set().union(*(_defined(f) for f in files if f.suffix == ".py" and f.is_file()))
        for token in _ticked(holds):
            name = token.removesuffix("()")
            if re.fullmatch(r"[A-Za-z_]\w*", name) and name not in defined:
                missing.append(f"{name} ({files_cell})")
    assert not missing, f"names in docs/architecture.md not defined where it says: {missing}"


def _path_table() -> list[tuple[Path, list[str]]]:
    return [(PACKAGE / _ticked(file)[0], _ticked(functions)) for _, file, functions in _table("One record")]


def _setup_and_lookups() -> set[Path]:
    text = _section("One record").split("| write |")[1]
    return {p for p in _files(text)}


def test_the_record_path_is_short() -> None:
    assert len({path for path, _ in _path_table()}) <= 8


def _traced_prediction(tmp_path: Path) -> dict[Path, set[str]]:
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.inference.pipeline import predict_to_h5
    from seqrnn.models.bundle import load_bundle

    bundle = load_bundle(GOLDEN)
    fasta = tmp_path / "one.fasta"
    fasta.write_text(">p1 one protein record\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEK\n")
    called: dict[Path, set[str]] = {}

    def profile(frame, event, arg):  # type: ignore[no-untyped-def]
        if event == "call":
            path = Path(frame.f_code.co_filename)
            if path.is_relative_to(PACKAGE):
                called.setdefault(path, set()).add(frame.f_code.co_name)

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        predict_to_h5(
            bundle, [fasta], tmp_path / "out.h5", PredictOptions(precision="fp32"), torch.device("cpu")
        )
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return called


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, set[str]]:
    return _traced_prediction(tmp_path_factory.mktemp("trace"))


def test_every_step_it_lists_is_taken(traced: dict[Path, set[str]]) -> None:
    for path, functions in _path_table():
        missing = [f for f in functions if f not in traced.get(path, set())]
        assert not missing, f"{path.relative_to(PACKAGE)}: {missing} not called by a prediction"


def test_the_record_visits_no_file_it_does_not_list(traced: dict[Path, set[str]]) -> None:
    listed = {path for path, _ in _path_table()} | _setup_and_lookups()
    unlisted = sorted(str(p.relative_to(PACKAGE)) for p in traced if p not in listed)
    assert not unlisted, f"a prediction also runs code in {unlisted}: list it in docs/architecture.md"
