"""``seqrnn plot`` draws every kind of file seqrnn writes: variants effects and genome tracks here
(predictions files: tests/cli/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqrnn.cli.main import main
from seqrnn.variants.example import write_example

pytest.importorskip("matplotlib")
pytest.importorskip("pysam")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_example(tmp_path_factory.mktemp("example"))


def _png(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 5000  # a drawn picture, not an empty canvas
    return data


def test_variants_file_plots_its_effects(example: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "effects.h5"
    args = ["variants", str(example["vcf"]), "--genome", str(example["genome"]), "-o", str(out), "-q"]
    assert main([*args, "-m", "tf-USF1", "-m", "tf-YY1", "--threads", "1"]) == 0
    assert main(["plot", str(out), "-o", str(tmp_path / "effects.png")]) == 0
    assert "2 model(s)" in capsys.readouterr().out
    _png(tmp_path / "effects.png")


def test_track_file_plots_its_scores(example: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "track.h5"
    args = [
        "tile",
        str(example["regions"]),
        "--genome",
        str(example["genome"]),
        "-m",
        "tf-USF1",
        "-o",
        str(out),
    ]
    assert main([*args, "--stride", "50", "--threads", "1", "-q"]) == 0
    assert main(["plot", str(out), "-o", str(tmp_path / "track.png")]) == 0
    assert "bins, 1 model(s)" in capsys.readouterr().out
    _png(tmp_path / "track.png")


def test_a_file_that_is_not_hdf5_is_one_error(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "x.h5"
    bogus.write_text("not hdf5")
    assert main(["plot", str(bogus), "-o", str(tmp_path / "x.png")]) == 3
    assert "not a readable HDF5 file" in capsys.readouterr().err
