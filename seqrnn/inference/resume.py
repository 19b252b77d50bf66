"""``--resume``: every finished window of a prediction kept as a part file in ``.<output>.parts/``.

A rerun after a crash or kill reads and encodes every record again (cheap next to the model), which
rebuilds the same window boundaries and skip report, and runs the model only for the windows whose
part is missing; the parts hold the window's payload in the predictions layout
(:func:`seqrnn.inference.pipeline.window_payload`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py

from seqrnn.encoding.examples import Example
from seqrnn.io.files import unstaged
from seqrnn.io.hdf5 import Layout, RaggedH5Writer


def parts_dir(output: Path) -> Path:
    """Where the parts of ``output`` are kept."""
    return output.parent / f".{output.name}.parts"


def resumable_payloads(
    windows: Iterator[list[Example]],
    predict: Callable[[list[Example]], dict[str, Any]],
    layout: Layout,
    sha256: str,
    output: Path,
    counts: dict[str, int],
) -> Iterator[dict[str, Any]]:
    """The payload of every window: read from its part when one matches (same model ``sha256``, same
    records), else ``predict(window)`` and kept as a part. ``counts`` tallies ``predicted`` and ``reused``."""
    parts = parts_dir(output)
    parts.mkdir(exist_ok=True)
    for w, window in enumerate(windows):
        part = parts / f"part{w:06d}.h5"
        first, last = window[0].index, window[-1].index
        payload = read_part(part, layout, sha256, first, last, len(window))
        if payload is None:
            counts["predicted"] += 1
            payload = predict(window)
            write_part(part, payload, layout, sha256, first, last)
        else:
            counts["reused"] += 1
        yield payload


def write_part(
    path: Path, payload: dict[str, Any], layout: Layout, sha256: str, first: int, last: int
) -> None:
    """Keep one finished window (records ``first``..``last`` of the model ``sha256``) for a rerun."""
    attrs = {"model_sha256": sha256, "first_record": first, "last_record": last}
    with unstaged(), RaggedH5Writer(path, attrs, *layout, compression=None) as writer:
        writer.append(**payload)


def read_part(
    path: Path, layout: Layout, sha256: str, first: int, last: int, n: int
) -> dict[str, Any] | None:
    """A finished part for exactly these ``n`` records from this model, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = tuple(
                f.attrs.get(k) for k in ("model_sha256", "first_record", "last_record", "n_sequences")
            )
            if found != (sha256, first, last, n):
                return None
            return {
                "ids": list(f["ids"].asstr()[:]),
                "lengths": f["lengths"][:],
                "residue": {k: f[k][:] for k in layout[0]},
                "sequence": {k: f[k][:] for k in layout[1]},
            }
    except (OSError, KeyError):
        return None
