"""``seqrnn encode``: sequences -> integer tokens in HDF5, for pipelines and other tools.

Layout: the common ``/ids``, ``/lengths``, ``/offsets`` plus ``/tokens`` (R,) int16 over the residue
axis; ``/tokens`` carries a ``vocabulary`` attribute (index -> token, 0 = padding) and the root the
encoder name and the ``seqrnn-encoded`` format tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqrnn.encoding.encoders import Encoder, SmilesEncoder, build_encoder
from seqrnn.encoding.examples import encode_record
from seqrnn.errors import InputError
from seqrnn.io.files import utc_timestamp
from seqrnn.io.formats import ReadOptions, chain_inputs, read_records
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer
from seqrnn.io.outputs import check_writable
from seqrnn.version import __version__

FORMAT = "seqrnn-encoded"
FORMAT_VERSION = 1


def encoder_for_inputs(alphabet: str, inputs: Sequence[str | Path], options: ReadOptions) -> Encoder:
    """The encoder of an alphabet; a SMILES vocabulary is fitted on the inputs' own tokens."""
    if alphabet != "smiles":
        return build_encoder(alphabet)
    if any(str(p) == "-" for p in inputs):
        raise InputError("SMILES from stdin need a fixed vocabulary: pass --model to use a model's encoder")
    # A SMILES vocabulary is fitted on the input itself (one extra pass over the files).
    texts = (
        r.text for p in inputs for r in read_records(p, options.fmt, sequence_column=options.sequence_column)
    )
    return SmilesEncoder.fit(texts)


def encode_to_h5(
    encoder: Encoder,
    inputs: Sequence[str | Path],
    output: str | Path,
    options: ReadOptions,
    command: str = "",
) -> tuple[int, int]:
    """Write the inputs' integer tokens (ids, lengths, offsets, /tokens) to HDF5; -> (sequences, tokens)."""
    check_writable(output)
    attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqrnn_version": __version__,
        "encoder": encoder.name,
        "command": command,
        "created": utc_timestamp(),
    }
    vocab = np.array(encoder.tokens, dtype=object)
    spec = DatasetSpec(None, np.int16, {"vocabulary": vocab.astype("S")})
    n = r = 0
    with RaggedH5Writer(output, attrs, {"tokens": spec}, {}) as writer:
        ids: list[str] = []
        chunks: list[np.ndarray] = []
        for rec in chain_inputs(inputs, options):
            ex = encode_record(rec, encoder)
            ids.append(ex.id)
            chunks.append(ex.tokens)
            if len(ids) >= 8192:
                writer.append(
                    ids, np.array([c.size for c in chunks]), residue={"tokens": np.concatenate(chunks)}
                )
                n, r = n + len(ids), r + sum(c.size for c in chunks)
                ids, chunks = [], []
        if ids:
            writer.append(ids, np.array([c.size for c in chunks]), residue={"tokens": np.concatenate(chunks)})
            n, r = n + len(ids), r + sum(c.size for c in chunks)
        if n == 0:
            raise InputError("no sequences to encode", source=", ".join(map(str, inputs)))
    return n, r
