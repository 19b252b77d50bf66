"""Exceptions with exit codes: every user mistake becomes one clear line and a non-zero exit.

The CLI catches :class:`SeqrnnError` and prints ``seqrnn: error: <message>``; anything else is a bug
and exits 1 (with a traceback only under ``--debug``).
"""

from __future__ import annotations


class SeqrnnError(Exception):
    """Base class for errors a user can fix; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(SeqrnnError):
    """A command line that cannot work as given (a malformed option value, an output that is an input)."""

    exit_code = 2


class EncodingError(ValueError):
    """A sequence breaks its alphabet's policy; the message is the human-readable reason.

    Raised by the encoders (and RDKit checks) without file or record context; the callers that know
    the record turn it into an :class:`InputError`.
    """


class InputError(SeqrnnError):
    """Bad input data: unreadable file, malformed record, character outside the alphabet."""

    exit_code = 3

    def __init__(self, reason: str, *, source: str | None = None, record: str | int | None = None) -> None:
        self.reason = reason
        self.source = source
        self.record = record
        where = []
        if source is not None:
            where.append(str(source))
        if record is not None:
            where.append(f"record {record}")
        super().__init__(f"{': '.join(where)}: {reason}" if where else reason)


class ModelError(SeqrnnError):
    """A model file that is missing, corrupt, or incompatible with this seqrnn."""

    exit_code = 4


class ConfigError(SeqrnnError):
    """An invalid training configuration or ``--set`` override."""

    exit_code = 5


class OutputError(SeqrnnError):
    """An output that cannot be written (missing or unwritable directory, a directory given as a file)."""

    exit_code = 6
