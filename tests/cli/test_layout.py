"""The CLI's layout: one small module per subcommand, library logic (label columns, model description)
in the library, and the entry points that reach it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import seqrnn.cli
from seqrnn.cli.main import main
from seqrnn.models.bundle import load_bundle

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"
COMMANDS = (
    "train",
    "predict",
    "encode",
    "evaluate",
    "interpret",
    "scan",
    "export",
    "merge",
    "plot",
    "models",
    "configs",
    "workflow",
    "variants",
    "tile",
)


CLI_MODULES = sorted(Path(seqrnn.cli.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: p.name)
def test_each_cli_module_is_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 150


def test_every_subcommand_has_its_module() -> None:
    names = {p.stem for p in CLI_MODULES}
    assert all(command in names for command in COMMANDS)


def test_python_dash_m_and_help_list_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seqrnn", "--help"], capture_output=True, text=True, check=True, timeout=120
    )
    for command in (*COMMANDS, "info"):
        assert f"\n  {command} " in done.stdout, command


def test_info_prints_the_bundle_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(GOLDEN)]) == 0
    assert capsys.readouterr().out.strip() == load_bundle(GOLDEN).describe()


def test_evaluate_label_reads_other_columns(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "renamed.csv"
    data.write_text(synthetic["protein"].read_text().replace("dssp8", "q8", 1))
    same, renamed = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["evaluate", "-m", str(GOLDEN), str(synthetic["protein"]), "--json", str(same)]) == 0
    assert main(["evaluate", "-m", str(GOLDEN), str(data), "--label", "ss8=q8", "--json", str(renamed)]) == 0
    assert json.loads(same.read_text())["metrics"] == json.loads(renamed.read_text())["metrics"]
    capsys.readouterr()
    assert main(["evaluate", "-m", str(GOLDEN), str(data)]) == 3  # dssp8 is gone without --label
    for bad in ("nohead=q8", "ss8", "ss8="):
        assert main(["evaluate", "-m", str(GOLDEN), str(data), "--label", bad]) == 2
        assert "HEAD=COLUMN" in capsys.readouterr().err


def test_use_label_columns_checks_heads() -> None:
    bundle = load_bundle(GOLDEN)
    bundle.use_label_columns({"ss3": "x3", "ss8": ["x8"]})
    assert bundle.model.heads["ss3"].spec.columns == ["x3"]
    assert bundle.model.heads["ss8"].spec.columns == ["x8"]
    with pytest.raises(ValueError, match="HEAD=COLUMN"):
        bundle.use_label_columns({"nope": "x"})
