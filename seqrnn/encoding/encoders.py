"""Alphabets and encoders: strings -> integer token arrays, and the policies for messy letters.

Contract: ``encoder.encode(text)`` returns ``(tokens, keep)`` where ``tokens`` is an int64 array of shape
(L,) with values in ``[1, len(encoder.tokens))`` (0 is padding, never produced) and ``keep`` is a bool array
over the *input characters* (or tokens, for SMILES) telling which ones became a position. ``keep`` lets
per-residue labels follow the same policy as the sequence. Encoders serialise to a plain dict
(``to_config``) that travels inside every model bundle.

Protein policy (case-insensitive; documented in docs/input-policy.md):
    20 standard residues and X map to themselves; B (D/N), Z (E/Q) and J (I/L) map to X (ambiguous);
    U (selenocysteine) -> C and O (pyrrolysine) -> K (their closest standard residue); an internal ``*``
    (read-through stop) -> X; a trailing ``*`` and gap characters ``-`` ``.`` are dropped; whitespace is
    dropped; anything else (digits, punctuation, non-ASCII) is an error naming the character. A sequence
    of at least 20 residues that is at least 90% A/C/G/T/U/N is an error ("looks like a nucleotide
    sequence"): those are all amino-acid letters, so DNA given to a protein model would otherwise pass.
DNA policy: A C G T, N and the IUPAC ambiguity codes R Y S W K M B D H V; U -> T (RNA input); gaps are
    dropped; case-insensitive (soft-masked repeats stay). Inputs are one-hot with IUPAC codes as fractions.
SMILES: regex tokenizer (bracket atoms, Cl/Br, two-letter aromatics, ``%nn`` ring closures, bonds);
    the vocabulary is fitted on training data; an unseen token maps to ``<unk>``. With RDKit installed
    (``seqrnn[chem]``) each SMILES must also parse and sanitise (``check``), and can be rewritten to its
    canonical form or largest fragment (``standardize``; see :mod:`seqrnn.encoding.chem`); both travel in the
    bundle, so prediction applies what training did.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from seqrnn.core.registry import Registry
from seqrnn.errors import EncodingError

PAD = "<pad>"
UNK = "<unk>"
_DROP = -2
_INVALID = -1

ENCODERS: Registry[type[Encoder]] = Registry("encoder")


class Encoder:
    """Base class: a fixed vocabulary (index 0 = padding) and a string -> tokens policy."""

    name: ClassVar[str] = "base"
    #: "embedding": learned vectors per token; "onehot": fixed channels from :meth:`onehot_matrix`.
    default_input: ClassVar[str] = "embedding"
    #: letter that ``--on-invalid mask`` puts in place of characters outside the alphabet (None: cannot mask)
    unknown: ClassVar[str | None] = None
    #: What a record and one of its positions are called in summaries ("3 sequences, 370 residues").
    record_word: ClassVar[str] = "sequence"
    position_word: ClassVar[str | None] = "position"

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        """Number of tokens, padding included (the input layer's row count)."""
        return len(self.tokens)

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """``text`` -> ``(tokens, keep)``: (L,) int64 tokens in ``[1, vocab_size)`` and a bool array
        telling which input characters (tokens, for SMILES) became a position; see the module docstring.

        Raises :class:`EncodingError` for input the encoder's policy rejects (empty, characters outside the
        alphabet, ...).
        """
        raise NotImplementedError

    def view_source(self, text: str) -> str:
        """The text augmented views (:mod:`seqrnn.encoding.augment`) are drawn from; by default ``text``."""
        return text

    def encode_view(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Encode an augmented view (:mod:`seqrnn.encoding.augment`) of an input; by default like ``encode``."""
        return self.encode(text)

    def decode(self, tokens: Iterable[int]) -> str:
        """Tokens -> text, one vocabulary entry per token (padding decodes to ``<pad>``)."""
        return "".join(self.tokens[int(t)] for t in tokens)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able dict a bundle stores to rebuild this encoder (:meth:`from_config`)."""
        return {"name": self.name, "tokens": self.tokens}

    def mask_invalid(self, text: str) -> tuple[str, int]:
        """``text`` with every character outside the alphabet replaced by :attr:`unknown`, and the count."""
        raise EncodingError(f"characters outside the {self.name} alphabet cannot be masked")

    @staticmethod
    def from_config(config: dict[str, Any]) -> Encoder:
        """Rebuild an encoder from :meth:`to_config` output; :class:`ConfigError` for an unknown name."""
        cls = ENCODERS.get(config["name"])
        options = {k: v for k, v in config.items() if k not in ("name", "tokens")}  # e.g. SMILES policy
        return cls(tokens=list(config["tokens"]), **options)


def counted(n: int, word: str) -> str:
    """``"1 molecule"``, ``"3 molecules"``: a count with its word in the right number."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class _LookupEncoder(Encoder):
    """Character-level encoder driven by a 256-entry byte lookup table (fast, no Python loop per letter)."""

    #: characters mapped onto another token (case-insensitive: keys are upper case).
    aliases: ClassVar[dict[str, str]] = {}
    dropped: ClassVar[str] = "-. \t\r\n"
    canonical: ClassVar[list[str]] = []

    def __init__(self, tokens: list[str] | None = None) -> None:
        super().__init__(tokens or [PAD, *self.canonical])
        lut = np.full(256, _INVALID, dtype=np.int64)
        for tok, idx in self.index.items():
            if len(tok) == 1:
                lut[ord(tok.upper())] = lut[ord(tok.lower())] = idx
        for src, dst in self.aliases.items():
            lut[ord(src.upper())] = lut[ord(src.lower())] = self.index[dst]
        for ch in self.dropped:
            lut[ord(ch)] = _DROP
        self._lut = lut
        # Token -> byte for decode; None when a token other than padding is not one ASCII letter.
        letters = [t for t in self.tokens if t != PAD]
        single = all(len(t) == 1 and t.isascii() for t in letters)
        self._letters = (
            np.array([t if t != PAD else "?" for t in self.tokens], dtype="S1") if single else None
        )

    def decode(self, tokens: Iterable[int]) -> str:
        """As :meth:`Encoder.decode`, through a byte table (predictions decode every residue they write)."""
        arr = np.asarray(tokens if isinstance(tokens, np.ndarray) else list(tokens))
        if self._letters is None or not arr.size or arr.min() <= 0 or arr.max() >= len(self.tokens):
            return super().decode(arr)
        return self._letters[arr].tobytes().decode("ascii")

    def _lookup(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        except UnicodeEncodeError as exc:
            bad = text[exc.start]
            raise EncodingError(f"non-ASCII character {bad!r} at position {exc.start + 1}") from None
        codes = self._lut[raw]
        if codes.size and codes.min() >= 0:  # the common case: every byte a letter of the alphabet
            return codes, np.ones(codes.size, dtype=bool)
        bad = np.flatnonzero(codes == _INVALID)
        if bad.size:
            pos = int(bad[0])
            raise EncodingError(
                f"character {text[pos]!r} at position {pos + 1} is not in the {self.name} alphabet"
            )
        keep = codes != _DROP
        return codes[keep], keep

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        tokens, keep = self._lookup(text)
        if tokens.size == 0:
            raise EncodingError("empty sequence")
        return tokens, keep

    def mask_invalid(self, text: str) -> tuple[str, int]:
        if self.unknown is None:
            return super().mask_invalid(text)
        chars = [c if ord(c) < 256 and self._lut[ord(c)] != _INVALID else self.unknown for c in text]
        masked = "".join(chars)
        return masked, sum(a != b for a, b in zip(masked, text, strict=True))


#: Nucleotide guard for protein input: sequences this long or longer ...
NUCLEOTIDE_MIN_LENGTH = 20
#: ... with at least this fraction of A/C/G/T/U/N (any case) are rejected as DNA/RNA.
NUCLEOTIDE_MAX_FRACTION = 0.9
_NUCLEOTIDE_LUT = np.zeros(256, dtype=bool)
_NUCLEOTIDE_LUT[list(b"ACGTUNacgtun")] = True


@ENCODERS.register("protein")
class ProteinEncoder(_LookupEncoder):
    """Amino acids: the 20 standard residues and X, under the protein policy of the module docstring."""

    name = "protein"
    position_word = "residue"
    unknown = "X"
    canonical: ClassVar[list[str]] = list("ACDEFGHIKLMNPQRSTVWYX")
    aliases: ClassVar[dict[str, str]] = {"B": "X", "Z": "X", "J": "X", "U": "C", "O": "K", "*": "X"}

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """As the base encoder, but one trailing ``*`` is dropped and nucleotide-like input is an
        :class:`EncodingError`.
        """
        stripped = text.rstrip(" \t\r\n")
        if stripped.endswith("*"):
            # A trailing stop codon is translation output, not a residue.
            cut = len(stripped) - 1
            tokens, keep = super().encode(text[:cut])
            keep = np.concatenate([keep, np.zeros(len(text) - cut, dtype=bool)])
        else:
            tokens, keep = super().encode(text)
        _reject_nucleotides(text, keep)
        return tokens, keep


def _reject_nucleotides(text: str, keep: np.ndarray) -> None:
    """Raise if the kept letters look like DNA/RNA: A, C, G, T, U and N are amino-acid letters too, so
    a nucleotide sequence would otherwise be predicted silently (and wrongly) by a protein model."""
    n = int(keep.sum())
    if n < NUCLEOTIDE_MIN_LENGTH:
        return
    # ``text`` passed the ASCII check in ``_lookup``, so bytes and characters line up with ``keep``.
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)[keep]
    fraction = float(_NUCLEOTIDE_LUT[raw].sum()) / n
    if fraction >= NUCLEOTIDE_MAX_FRACTION:
        raise EncodingError(
            f"looks like a nucleotide sequence ({fraction:.0%} ACGTUN); this is a protein model"
        )


_COMPLEMENT = dict(zip("ACGTNRYSWKMBDHV", "TGCANYRSWMKVHDB", strict=True))
_IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "N": "ACGT", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG",
}  # fmt: skip


@ENCODERS.register("dna")
class DNAEncoder(_LookupEncoder):
    """Nucleotides: A C G T, N and the IUPAC ambiguity codes (U reads as T); one-hot input by default."""

    name = "dna"
    position_word = "base"
    default_input = "onehot"
    unknown = "N"
    canonical: ClassVar[list[str]] = list("ACGTNRYSWKMBDHV")
    aliases: ClassVar[dict[str, str]] = {"U": "T"}

    def onehot_matrix(self) -> np.ndarray:
        """(vocab, 4) float matrix, rows = A C G T fractions; padding row is zero."""
        mat = np.zeros((self.vocab_size, 4), dtype=np.float32)
        for tok, idx in self.index.items():
            for base in _IUPAC.get(tok, ""):
                mat[idx, "ACGT".index(base)] = 1.0 / len(_IUPAC[tok])
        return mat

    def complement_table(self) -> np.ndarray:
        """Token -> complement token (padding stays padding)."""
        table = np.arange(self.vocab_size)
        for tok, idx in self.index.items():
            if tok in _COMPLEMENT:
                table[idx] = self.index[_COMPLEMENT[tok]]
        return table

    def reverse_complement(self, tokens: np.ndarray) -> np.ndarray:
        """(L,) tokens of the other strand, reversed and complemented (unpadded: padding would move first).
        (n, L) rows of one width are reversed and complemented row by row."""
        return self.complement_table()[tokens[..., ::-1]]

    def encode_rows(self, texts: Sequence[str]) -> np.ndarray | None:
        """(n, W) int16 tokens of ``n`` texts of one width ``W`` in one pass, as :meth:`encode` gives them
        row by row; None unless every byte is a letter of the alphabet (the caller then encodes the
        texts one by one, with :meth:`encode`'s errors). Genome windows take this path."""
        width = len(texts[0]) if texts else 0
        if not width or any(len(text) != width for text in texts):
            return None
        try:
            raw = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8)
        except UnicodeEncodeError:
            return None
        codes = self._lut[raw]
        if codes.min() < 0:  # a dropped or unknown byte: not a plain window
            return None
        return codes.astype(np.int16).reshape(len(texts), width)


# Schwaller et al. (2019) SMILES regex, extended with two-letter aromatic atoms inside brackets handled
# by the bracket rule; ring closures %nn are one token.
SMILES_REGEX = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])"
)


def tokenize_smiles(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; raise :class:`EncodingError` if any character is not covered."""
    tokens = SMILES_REGEX.findall(smiles)
    if sum(map(len, tokens)) != len(smiles):
        pos = 0
        for tok in tokens:
            found = smiles.find(tok, pos)
            if found != pos:
                break
            pos += len(tok)
        raise EncodingError(f"cannot tokenize SMILES at position {pos + 1} ({smiles[pos : pos + 8]!r})")
    return tokens


@ENCODERS.register("smiles")
class SmilesEncoder(Encoder):
    """SMILES tokens (regex tokenizer) with a vocabulary fitted on training data; unseen tokens -> ``<unk>``.

    ``standardize`` and ``check`` are the RDKit policy (:func:`seqrnn.encoding.chem.prepare_smiles`); both are
    stored in the bundle, so prediction prepares SMILES as training did.
    """

    name = "smiles"
    record_word = "molecule"
    position_word = None  # tokens of a SMILES string are no unit a chemist counts

    def __init__(
        self, tokens: list[str] | None = None, standardize: str = "none", check: bool = True
    ) -> None:
        super().__init__(tokens or [PAD, UNK])
        self.standardize = standardize
        self.check = check

    @classmethod
    def fit(
        cls, smiles: Iterable[str], standardize: str = "none", check: bool = True, extra: Iterable[str] = ()
    ) -> SmilesEncoder:
        """Build the vocabulary from training SMILES (sorted, so the same data gives the same indices).

        ``extra`` texts (e.g. randomised training SMILES) are tokenised as they are, so augmented views
        never meet ``<unk>``.
        """
        encoder = cls(standardize=standardize, check=check)
        seen: set[str] = set()
        for s in smiles:
            try:
                seen.update(tokenize_smiles(encoder.prepare(s)))
            except EncodingError:
                continue
        for s in extra:
            with contextlib.suppress(EncodingError):
                seen.update(tokenize_smiles(s.strip()))
        return cls([PAD, UNK, *sorted(seen)], standardize, check)

    def prepare(self, text: str, canonical: bool = True) -> str:
        """The SMILES as the model sees it (stripped; checked / standardised with RDKit when asked)."""
        from seqrnn.encoding.chem import prepare_smiles

        return prepare_smiles(text, self.standardize, self.check, canonical)

    def view_source(self, text: str) -> str:
        """What extra views are drawn from: the standardised SMILES (canonical, so every way of writing a
        molecule gives the same views), or the text as given under ``standardize: none``."""
        return text if self.standardize == "none" else self.prepare(text)

    def encode_view(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A randomised SMILES keeps its atom order: standardisation must not canonicalise it back."""
        return self.encode(text, canonical=False)

    def encode(self, text: str, canonical: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``text`` -> ((T,) int64 token ids of the prepared SMILES, (T,) all-True ``keep``).

        ``canonical=False`` keeps the input's atom order (augmented views). Raises :class:`EncodingError` for
        an empty or untokenisable SMILES and, with RDKit and ``check``, one RDKit rejects.
        """
        text = text.strip()
        if not text:
            raise EncodingError("empty SMILES")
        toks = tokenize_smiles(text)  # first: its message names the position of a stray character
        prepared = self.prepare(text, canonical)
        if prepared != text:
            toks = tokenize_smiles(prepared)
        unk = self.index[UNK]
        ids = np.fromiter((self.index.get(t, unk) for t in toks), dtype=np.int64, count=len(toks))
        return ids, np.ones(len(toks), dtype=bool)

    def to_config(self) -> dict[str, Any]:
        """The base config plus the ``standardize`` and ``check`` policy."""
        return {**super().to_config(), "standardize": self.standardize, "check": self.check}


def build_encoder(name: str, training_texts: Iterable[str] | None = None, **options: Any) -> Encoder:
    """Create an encoder by registry name; SMILES vocabularies are fitted on ``training_texts``
    (``options``: SMILES ``standardize``, ``check`` and ``extra`` texts, see :meth:`SmilesEncoder.fit`)."""
    cls = ENCODERS.get(name)
    if cls is SmilesEncoder:
        return SmilesEncoder.fit(training_texts or [], **options)
    return cls()
