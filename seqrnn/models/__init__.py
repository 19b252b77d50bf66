"""Models: the BiRNN encoder (:mod:`seqrnn.models.rnn`) and its task heads (:mod:`seqrnn.models.heads`)."""

from seqrnn.models.heads import HEADS, IGNORE, Head, HeadSpec, head_class, specs_from_records
from seqrnn.models.rnn import CELLS, ModelConfig, SeqRNN

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
