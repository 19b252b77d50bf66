"""The user docs (README.md, docs/*.md, docs/results/*.md) describe the product as it is: no work periods,
issue numbers or commit hashes (that history belongs in CHANGELOG.md and git); every package file, module,
name and test they mention exists, and every relative link reaches its file and heading."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Work-period words, issue numbers and commit hashes; not module or file names (``training/phases.py``).
HISTORY = re.compile(r"(?<![\w/.])sessions?\b(?![.\w/]\w)|\bissue [0-9]+|\bcommit [0-9a-f]{7}", re.IGNORECASE)
#: README, every page under docs/ and the raw run records under docs/results/.
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs" / "results").glob("*.md")),
]

#: ``seqrnn/io/vcf.py``, ``seqrnn/resources/`` (a file or folder of the package).
PACKAGE_PATH = re.compile(r"(?<![\w/.-])seqrnn/[\w/.-]*[\w/]")
#: ``seqrnn.io.vcf``, ``seqrnn.inference.engine.PredictOptions``, ``seqrnn.predict`` (modules and names).
DOTTED = re.compile(r"(?<![\w/.-])seqrnn(?:\.[A-Za-z_]\w*)+")
#: ``tests/unit/io/test_vcf.py`` or ``tests/cli/test_cli.py::test_name``.
TEST_PATH = re.compile(r"(?<![\w/.-])tests/[\w/.-]+\.py(?:::\w+)?")
#: ``seqrnn.yaml`` and the like are file names, not modules.
FILE_SUFFIXES = {"yaml", "yml", "json", "h5", "py", "log", "txt", "toml", "egg", "tsv", "csv"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_do_not_narrate_history(page: Path) -> None:
    found = [
        f"{page.name}:{n}: {line.strip()[:80]}"
        for n, line in enumerate(page.read_text().splitlines(), start=1)
        if HISTORY.search(line) and "pytest" not in line
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_history() -> None:
    assert HISTORY.search("Session 7, AMD EPYC") and HISTORY.search("(issue 16)")
    assert HISTORY.search("against commit d325323") and not HISTORY.search("a committed file, issue tracker")
    assert HISTORY.search("in that session.") and not HISTORY.search("`training/phases.py`, `session_id`")


def test_the_pages_are_found() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "benchmarks.md", "performance.md", "variants.md"} <= names


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _names(module: Path) -> dict[str, ast.AST]:
    """Top-level names a module defines, imports or lists in ``__all__`` (read, not imported)."""
    names: dict[str, ast.AST] = {}
    body = list(ast.parse(module.read_text()).body)
    while body:
        node = body.pop(0)
        if isinstance(node, (ast.If, ast.Try)):
            body[:0] = [*node.body, *getattr(node, "orelse", [])]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(a.asname or a.name).split(".")[0]: node for a in node.names})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                for elt in getattr(node.value, "elts", []):
                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                        names.setdefault(elt.value, node)
    return names


def resolves(dotted: str) -> bool:
    """Whether ``seqrnn.a.b.c`` names a module of the package, or a name defined in one (a class's
    methods included), looking at the source files only."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        module = _module_file(parts[:i])
        if module is None:
            continue
        rest = parts[i:]
        if not rest:
            return True
        node = _names(module).get(rest[0])
        if node is None:
            return False
        if len(rest) > 1 and isinstance(node, ast.ClassDef):
            members = {getattr(n, "name", None) for n in node.body}
            members |= {getattr(n.target, "id", None) for n in node.body if isinstance(n, ast.AnnAssign)}
            return rest[1] in members
        return True
    return False


def test_the_reference_check_finds_old_locations() -> None:
    assert resolves("seqrnn.io.vcf") and resolves("seqrnn.io.vcf.STATUSES") and resolves("seqrnn.predict")
    assert resolves("seqrnn.inference.pipeline.predict_to_h5") and resolves("seqrnn.cli.main.main")
    assert not resolves("seqrnn.variants.vcf") and not resolves("seqrnn.prediction.predict_to_h5")
    assert not resolves("seqrnn.io.vcf.NO_SUCH_NAME") and not resolves("seqrnn.data.formats")
    assert [m.group() for m in DOTTED.finditer("`seqrnn.io.vcf.STATUSES`, pip install seqrnn.")] == [
        "seqrnn.io.vcf.STATUSES"
    ]
    assert [m.group() for m in PACKAGE_PATH.finditer("(`seqrnn/io/outputs.py`, `seqrnn/resources/`)")] == [
        "seqrnn/io/outputs.py",
        "seqrnn/resources/",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_name_modules_and_files_that_exist(page: Path) -> None:
    missing = []
    for n, line in enumerate(page.read_text().splitlines(), start=1):
        for m in PACKAGE_PATH.finditer(line):
            if not (ROOT / m.group()).exists():
                missing.append(f"{page.name}:{n}: {m.group()} (no such file or folder)")
        for m in DOTTED.finditer(line):
            if m.group().split(".")[1] not in FILE_SUFFIXES and not resolves(m.group()):
                missing.append(f"{page.name}:{n}: {m.group()} (no such module or name)")
        for m in TEST_PATH.finditer(line):
            path, _, test = m.group().partition("::")
            if not (ROOT / path).is_file():
                missing.append(f"{page.name}:{n}: {path} (no such test file)")
            elif test and not re.search(rf"def {test}\b", (ROOT / path).read_text()):
                missing.append(f"{page.name}:{n}: {m.group()} (no such test)")
    assert not missing, "\n".join(missing)


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_links_reach_their_files_and_headings(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(f"{page.name}: {target} (no such file)")
        elif fragment and linked.suffix == ".md":
            headings = {
                anchor(line.lstrip("#")) for line in linked.read_text().splitlines() if line.startswith("#")
            }
            if fragment not in headings:
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
