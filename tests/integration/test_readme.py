"""Every command the README shows works: each line of its ```bash blocks runs in a scratch directory
that looks like a checkout (``data/`` and ``configs/`` link to the repository's), after the commands
whose files it uses, and must exit 0 and write the outputs it names. The ```python block then runs
there too. Installation and development lines (``pip install``, ``make``) are not run (they would
rebuild the environment or run the whole suite): their extras and targets must exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Options whose value is a file or folder the command writes.
OUTPUT_OPTIONS = {"-o", "--output"}
#: ``--export X`` writes the output's stem with this suffix (directory exports are not checked).
EXPORT_SUFFIX = {"tsv": ".tsv", "csv": ".csv", "vcf": ".vcf", "bedgraph": ".bedgraph"}


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == language]


def command_lines(block: str) -> list[list[str]]:
    """The commands of a shell block as argument lists: continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", block)
    return [words for line in text.splitlines() if (words := shlex.split(line, comments=True))]


COMMANDS = [words for block in blocks("bash") for words in command_lines(block)]
RUN = [words for words in COMMANDS if words[0] not in ("pip", "make")]


def test_the_readme_shows_runnable_commands() -> None:
    assert {words[0] for words in COMMANDS} <= {"seqrnn", "python", "pip", "make"}, COMMANDS
    shown = {words[1] for words in RUN if words[0] == "seqrnn"}
    assert {"predict", "train", "evaluate", "models", "variants", "merge"} <= shown
    assert len(blocks("python")) == 1


def test_install_and_development_lines_name_real_extras_and_targets() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([\w-]+)\s*=", section, re.MULTILINE))
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    checked = 0
    for words in COMMANDS:
        if words[0] == "pip":
            assert words[1] == "install"
            for spec in words[2:]:
                named = re.fullmatch(r"[.\w-]*\[([\w,-]+)\]", spec)
                assert named is None or set(named.group(1).split(",")) <= extras, spec
            checked += 1
        elif words[0] == "make":
            assert set(words[1:]) <= targets, words
            checked += 1
    assert checked >= 2


def expected_outputs(words: list[str]) -> list[str]:
    """Files and folders the command must leave behind, as the README names them."""
    paths = [words[i + 1] for i, word in enumerate(words[:-1]) if word in OUTPUT_OPTIONS]
    paths += [w.split("=", 1)[1] + "/model.pt" for w in words if w.startswith("output_dir=")]
    if words[:3] == ["python", "-m", "seqrnn.variants.example"]:
        paths += [f"{words[3]}/{name}" for name in ("genome.fa", "calls.vcf", "regions.bed")]
    exports = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--export"]
    if paths and exports:
        stem = Path(paths[0]).with_suffix("")
        paths += [f"{stem}{EXPORT_SUFFIX[e]}" for e in exports if e in EXPORT_SUFFIX]
    return paths


def environment() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=300)


def needs(index: int) -> set[int]:
    """The earlier commands this one must wait for: those that write a file it names, or that name a
    file an earlier command wrote (two commands indexing one generated genome at once could collide)."""
    made = {j: set(expected_outputs(RUN[j])) for j in range(index)}
    written = {p for paths in made.values() for p in paths}
    names = set(RUN[index]) & written
    return {j for j in range(index) if made[j] & names or names & set(RUN[j])}


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    """Every README command in a scratch directory with the repository's example inputs and configs at
    their paths (``data/``, ``configs/``); two at a time where one does not need the other."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("data", "configs"):
        (work / name).symlink_to(ROOT / name, target_is_directory=True)
    futures: list[Future[subprocess.CompletedProcess[str]]] = []

    def start(index: int) -> subprocess.CompletedProcess[str]:
        for j in needs(index):
            futures[j].result()
        words = RUN[index]
        return run([sys.executable, *words[1:]] if words[0] == "python" else words, work)

    with ThreadPoolExecutor(max_workers=2) as pool:  # FIFO: what a command waits for has started
        for i in range(len(RUN)):
            futures.append(pool.submit(start, i))
    return work, [f.result() for f in futures]


@pytest.mark.parametrize("index", range(len(RUN)), ids=[shlex.join(w)[:60] for w in RUN])
def test_readme_command_runs(index: int, tour: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    work, results = tour
    words, done = RUN[index], results[index]
    assert done.returncode == 0, f"{shlex.join(words)} -> exit {done.returncode}\n{done.stderr[-3000:]}"
    missing = [p for p in expected_outputs(words) if not (work / p).exists()]
    assert not missing, f"{shlex.join(words)} did not write {missing}"
    if not expected_outputs(words):
        assert done.stdout.strip(), f"{shlex.join(words)} printed nothing"


def test_readme_python_block_runs(tour: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    """After the shell commands: it reads their ss.h5, runs/example/model.pt and ex/."""
    (code,) = blocks("python")
    done = run([sys.executable, "-c", code], tour[0])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "['H', 'E', 'C']" in done.stdout
