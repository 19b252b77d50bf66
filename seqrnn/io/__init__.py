"""Writers: predictions and encoded sequences as one self-describing HDF5 file (schema: docs/hdf5-format.md)."""

from seqrnn.io.hdf5 import RaggedH5Writer
from seqrnn.io.outputs import check_writable

__all__ = ["RaggedH5Writer", "check_writable"]
