"""Reading and batching: files -> :class:`Record` streams -> encoded examples -> padded batches."""

from seqrnn.data.formats import detect_format, read_records
from seqrnn.data.records import Record

__all__ = ["Record", "detect_format", "read_records"]
