"""Models: the BiRNN encoder (:mod:`seqrnn.models.rnn`), its task heads (:mod:`seqrnn.models.heads`) and
the head specs stored in bundles (:mod:`seqrnn.models.specs`).
"""

from seqrnn.models.heads import HEADS, IGNORE, Head, head_class, specs_from_records
from seqrnn.models.rnn import CELLS, ModelConfig, SeqRNN
from seqrnn.models.specs import HeadSpec

__all__ = [
    "CELLS",
    "HEADS",
    "IGNORE",
    "Head",
    "HeadSpec",
    "ModelConfig",
    "SeqRNN",
    "head_class",
    "specs_from_records",
]
