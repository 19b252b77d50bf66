"""seqrnn: bidirectional RNNs for biological and chemical sequences.

Data flow: read (``seqrnn.data``) -> encode (``seqrnn.encoders``) -> batch (``seqrnn.data.batching``)
-> model (``seqrnn.models``) -> heads -> write (``seqrnn.io``).
"""

__version__ = "0.1.0"
