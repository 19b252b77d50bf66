"""Models: the BiRNN encoder (:mod:`seqrnn.models.rnn`) and its task heads (:mod:`seqrnn.models.heads`)."""

from seqrnn.models.heads import HEADS, IGNORE, Head
from seqrnn.models.rnn import CELLS, ModelConfig, SeqRNN

__all__ = ["CELLS", "HEADS", "IGNORE", "Head", "ModelConfig", "SeqRNN"]
