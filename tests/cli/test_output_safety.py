"""Nothing lost: through the command line, no output replaces an input, an export that cannot work is
refused before predicting, and a full disk or a file-size limit is one line with exit 6 that leaves the
files of an earlier run as they were and no temporary file behind."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from seqrnn.io.files import AtomicOutput

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"
PEAKS = Path(__file__).resolve().parents[1] / "data" / "usf1_peaks.fa"


def _one_error_line(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if not x.startswith("seqrnn: note:")]
    assert len(lines) == 1 and lines[0].startswith("seqrnn: error: "), err
    assert "Traceback" not in err and "internal error" not in err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    return lines[0]


def _left(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def proteins(tmp_path: Path) -> Path:
    fasta = tmp_path / "prot.fa"
    fasta.write_text("".join(f">p{i}\n{'MKTAYIAKQRQISFVKSHFSRQ' * (i + 1)}\n" for i in range(6)))
    return fasta


def test_predict_never_writes_over_an_input(proteins: Path, tmp_path: Path, capsys) -> None:
    before = proteins.read_bytes()
    base = ["predict", "-m", str(GOLDEN), str(proteins), "--threads", "1", "-q"]
    assert main([*base, "-o", str(proteins)]) == 2
    _one_error_line(capsys, "would overwrite the input", "prot.fa")
    os.link(proteins, tmp_path / "hard.h5")  # the same file under another name
    assert main([*base, "-o", str(tmp_path / "hard.h5")]) == 2
    _one_error_line(capsys, "would overwrite the input")
    model_copy = tmp_path / "model.h5"
    model_copy.write_bytes(GOLDEN.read_bytes())
    assert main(["predict", "-m", str(model_copy), str(proteins), "-o", str(model_copy), "-q"]) == 2
    _one_error_line(capsys, "would overwrite the model")
    assert proteins.read_bytes() == before and model_copy.read_bytes() == GOLDEN.read_bytes()


def test_an_export_over_the_input_table_is_refused(tmp_path: Path, capsys) -> None:
    mols = tmp_path / "mols.csv"
    mols.write_text("smiles,y\nCCO,1\nc1ccccc1,2\n")
    # -o mols.h5 --export csv would write mols.csv: the input itself.
    assert main(["predict", "-m", "esol", str(mols), "-o", str(tmp_path / "mols.h5"), "--export", "csv"]) == 2
    _one_error_line(capsys, "csv export would overwrite the input")
    assert mols.read_text() == "smiles,y\nCCO,1\nc1ccccc1,2\n" and _left(tmp_path) == ["mols.csv"]


def test_variants_exports_never_replace_the_vcf_its_index_or_the_genome(tmp_path: Path, capsys) -> None:
    vcf, tbi, genome = tmp_path / "X.vcf.gz", tmp_path / "X.vcf.gz.tbi", tmp_path / "g.fa"
    for path in (vcf, tbi, genome, tmp_path / "g.fa.fai"):
        path.write_bytes(b"\x1f\x8b" if path == vcf else b"keep")
    base = ["variants", str(vcf), "--genome", str(genome), "-m", "tf-USF1", "--threads", "1"]
    # -o X.h5 --export vcf would write X.vcf.gz and X.vcf.gz.tbi over the input and its index.
    assert main([*base, "-o", str(tmp_path / "X.h5"), "--export", "vcf"]) == 2
    _one_error_line(capsys, "X.vcf.gz: the vcf export would overwrite the VCF")
    assert main([*base, "-o", str(tmp_path / "g.fa.fai")]) == 2
    _one_error_line(capsys, "would overwrite the genome index")
    assert main([*base, "-o", str(tmp_path / "out.h5"), "--export", "tsv", "--export", "tsv"]) == 2
    _one_error_line(capsys, "written twice")
    assert vcf.read_bytes() == b"\x1f\x8b" and tbi.read_bytes() == b"keep"


def test_exports_that_cannot_work_are_refused_before_predicting(
    proteins: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.inference.pipeline

    def never(*args, **kwargs):
        raise AssertionError("predicted before refusing the export")

    monkeypatch.setattr(seqrnn.inference.pipeline, "predict_to_h5", never)
    out = tmp_path / "o.h5"
    assert main(["predict", "-m", str(GOLDEN), str(proteins), "-o", str(out), "--export", "csv"]) == 2
    _one_error_line(capsys, "--export csv", "no per-sequence heads")
    assert main(["predict", "-m", "tf-USF1", str(PEAKS), "-o", str(out), "--export", "ss2"]) == 2
    _one_error_line(capsys, "--export ss2", "H, E, C")
    assert (
        main(["predict", "-m", str(GOLDEN), "-", "-o", str(out), "--export", "tsv", "--export", "xls"]) == 2
    )
    _one_error_line(capsys, "--export 'xls'")
    assert not out.exists()


def test_tsv_of_a_per_sequence_model_is_one_row_per_record(tmp_path: Path, capsys) -> None:
    out = tmp_path / "peaks.h5"
    assert main(["predict", "-m", "tf-USF1", str(PEAKS), "-o", str(out), "--export", "tsv", "-q"]) == 0
    rows = [line.split("\t") for line in out.with_suffix(".tsv").read_text().splitlines()]
    with h5py.File(out) as f:
        ids = list(f["ids"].asstr()[:])
        probs = f["sequence/bound/probs"][:]
    assert rows[0] == ["id", "pred_bound", "pred_bound_P0", "pred_bound_P1"]
    assert [r[0] for r in rows[1:]] == ids
    np.testing.assert_allclose([float(r[3]) for r in rows[1:]], probs[:, 1], atol=1e-4)


def test_bed_predictions_export_csv_through_their_genome(tmp_path: Path) -> None:
    records = PEAKS.read_text().split(">")[1:4]
    seqs = [r.split("\n", 1)[1].replace("\n", "") for r in records]
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "".join(seqs) + "\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"chr1\t{101 * i}\t{101 * (i + 1)}\tpeak{i}\n" for i in range(3)))
    out = tmp_path / "p.h5"
    args = ["predict", "-m", "tf-USF1", str(bed), "--genome", str(genome), "-o", str(out), "--export", "csv"]
    assert main([*args, "--threads", "1", "-q"]) == 0
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("id,sequence,") and rows[1].startswith("peak0,")
    assert all(row.endswith(",ok,") for row in rows[1:])


def test_a_failing_export_keeps_the_earlier_results_and_leaves_no_temporary_file(
    proteins: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.inference.export

    out, tsv = tmp_path / "o.h5", tmp_path / "o.tsv"
    base = ["predict", "-m", str(GOLDEN), str(proteins), "-o", str(out), "--export", "tsv", "-q"]
    assert main(base) == 0
    earlier = (out.read_bytes(), tsv.read_bytes())

    def disk_full(pred, output):
        with AtomicOutput(output) as tmp:  # as the real export writes
            tmp.write_text("half a table")
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(seqrnn.inference.export, "_export_tsv", disk_full)
    assert main([*base, "--batch-tokens", "64"]) == 6
    _one_error_line(capsys, "o.tsv: cannot write: no space left on the device (ENOSPC)")
    assert (out.read_bytes(), tsv.read_bytes()) == earlier  # the new HDF5 file went with its export
    assert _left(tmp_path) == ["o.h5", "o.tsv", "prot.fa"]


def _limited(limit: int) -> None:  # preexec_fn: the child's files may not grow past ``limit`` bytes
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # seqrnn itself must turn the signal off


def _seqrnn(*args: str, limit: int) -> subprocess.CompletedProcess[str]:
    code = "import sys; from seqrnn.cli.main import run; sys.argv[0] = 'seqrnn'; run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: _limited(limit),
    )


def test_a_file_size_limit_mid_run_is_exit_6_and_the_earlier_file_survives(tmp_path: Path) -> None:
    fasta = tmp_path / "many.fa"
    fasta.write_text("".join(f">p{i}\n{'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ' * 30}\n" for i in range(60)))
    out = tmp_path / "o.h5"
    out.write_bytes(b"an earlier result")
    args = ["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--threads", "1", "-q"]
    done = _seqrnn(*args, limit=256 * 1024)
    assert done.returncode == 6, done.stderr
    lines = [x for x in done.stderr.splitlines() if not x.startswith("seqrnn: note:")]
    assert lines == [
        f"seqrnn: error: {out}: cannot write: file too large (a file-size limit of this job or "
        "file system) (EFBIG); nothing was written there and earlier files are unchanged"
    ]
    assert out.read_bytes() == b"an earlier result" and _left(tmp_path) == ["many.fa", "o.h5"]
    # merge of shards whose output does not fit: the same
    shards = []
    for k in (1, 2):
        shard = tmp_path / f"s{k}.h5"
        assert main([*args[:4], "-o", str(shard), "--shard", f"{k}/2", "--threads", "1", "-q"]) == 0
        shards.append(str(shard))
    done = _seqrnn("merge", *shards, "-o", str(tmp_path / "m.h5"), limit=64 * 1024)
    assert done.returncode == 6 and "m.h5: cannot write: file too large" in done.stderr, done.stderr
    assert not (tmp_path / "m.h5").exists() and not [p for p in _left(tmp_path) if p.endswith(".tmp")]


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A 160 KB tmpfs (root only; skipped elsewhere): a real ENOSPC, not a simulated one."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_exit_6_and_the_earlier_file_survives(
    tiny_tmpfs: Path, tmp_path: Path, capsys
) -> None:
    fasta = tmp_path / "many.fa"
    fasta.write_text("".join(f">p{i}\n{'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ' * 30}\n" for i in range(60)))
    out = tiny_tmpfs / "o.h5"
    out.write_bytes(b"an earlier result")
    args = ["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--threads", "1", "-q"]
    assert main(args) == 6
    _one_error_line(capsys, "o.h5: cannot write: no space left on the device (ENOSPC)")
    assert out.read_bytes() == b"an earlier result" and _left(tiny_tmpfs) == ["o.h5"]
    with h5py.File(tmp_path / "x.h5", "w"):  # HDF5 still works in this process after the failure
        pass


def test_export_into_a_read_only_place_is_exit_6(proteins: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.h5"
    assert main(["predict", "-m", str(GOLDEN), str(proteins), "-o", str(out), "-q"]) == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(locked)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        locked.chmod(0o555)
    try:
        assert main(["export", str(out), "-f", "tsv", "-o", str(locked / "o.tsv")]) == 6
        _one_error_line(capsys, "not writable")
        assert main(["export", str(out), "-f", "ss2", "-o", str(locked / "ss2")]) == 6
        _one_error_line(capsys, "not writable")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(locked)], check=False)
        else:
            locked.chmod(0o755)
