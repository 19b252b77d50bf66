"""The user docs describe the product as it is: no work periods, issue numbers or commit hashes (that
history belongs in CHANGELOG.md and git)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HISTORY = re.compile(r"\bsessions?\b|\bissue [0-9]+|\bcommit [0-9a-f]{7}", re.IGNORECASE)
#: Pages still written as a record of measurements over time; being rewritten as current-figure pages.
NOT_YET = {"benchmarks.md", "performance.md"}
PAGES = [ROOT / "README.md", *(p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in NOT_YET)]


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
