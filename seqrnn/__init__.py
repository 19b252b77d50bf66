"""seqrnn: bidirectional RNNs for biological and chemical sequences.

Data flow: read (``seqrnn.data``) -> encode (``seqrnn.encoders``) -> batch (``seqrnn.data.batching``)
-> model (``seqrnn.models``) -> heads -> write (``seqrnn.io``).
"""

import os

__version__ = "0.1.0"

# oneDNN and ideep (torch's CPU RNN kernels) cache one compiled primitive per input shape, 1,024 each by
# default; every new (batch, length) pair of length-bucketed batches kept ~0.8 MB, so memory grew with the
# number of sequences predicted. 64 keeps it flat (docs/performance.md). Read lazily by torch, at the first
# RNN call; a user's own setting wins.
for _var in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
    os.environ.setdefault(_var, "64")
