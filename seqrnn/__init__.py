"""seqrnn: bidirectional RNNs for biological and chemical sequences.

Data flow: read (``seqrnn.data``) -> encode (``seqrnn.encoders``) -> batch (``seqrnn.data.batching``)
-> model (``seqrnn.models``) -> heads -> write (``seqrnn.io``).
"""

from seqrnn.version import __version__

__all__ = ["__version__"]
