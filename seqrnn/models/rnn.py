"""Bidirectional LSTM/GRU encoder with an optional convolutional front end and several task heads.

Shapes (B = batch, L = longest length in the batch, E = input channels, H = hidden, F = 2H):
    tokens (B, L) int64, 0 = padding; lengths (B,) int64
    -> input layer (B, L, E): learned embedding, or fixed one-hot channels (DNA, IUPAC as fractions)
    -> optional conv front end, DanQ-style, same-length output (B, L, conv_channels); padding is zeroed
       before each convolution, so a sequence's features do not depend on what it is batched with;
       with ``conv_pool`` P > 1 then max-pooled to (B, ceil(L / P), conv_channels), lengths likewise
       (only for sequence heads: residue positions no longer line up)
    -> stacked BiLSTM/BiGRU (no maximum length, cost linear in L) -> (B, L, F)
    -> residue heads: (B, L, C); sequence heads on masked mean+max pooling (B, 2F): (B, C).
    A residue head with a branch (``heads[].branch`` = W) first runs its own BiLSTM over the front
    features (the recurrent layers' input, (L, B, C)) and reads (L, B, F + 2W): :meth:`SeqRNN.with_branch`.
``forward`` returns ``{head_name: logits}``; ``predict`` the heads' post-processed outputs (probabilities,
or values in original units), which is what :class:`seqrnn.models.ensemble.Ensemble` averages.

Variable lengths without packing: each layer runs torch's fused unidirectional kernel twice over the
padded batch, forwards as is and backwards over each sequence reversed *within its own length* (padding
stays at the end), so neither direction ever reads padding before a real position. Inside, layers run
time-major, (L, B, C), and the within-length reversal is a row ``index_select`` on the flattened (L * B, C)
tensor; ``encode`` hands features back batch-major. Results equal a packed
BiRNN, but stay on the fast dense CPU path: on 2 CPU cores ``PackedSequence`` with mixed lengths trained
about 8x slower (762 vs 8,224 tokens/s, fp32, 2x192 LSTM) than dense batches of the same size.
Without gradients, inside :func:`direction_helper`, a layer's backward direction may run on a spare
thread while its forward direction runs in the caller (prediction lends idle CPU threads this way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from seqrnn.core.registry import Registry
from seqrnn.models import chunked
from seqrnn.models.chunked import predict_chunked
from seqrnn.models.heads import HEADS, Head, HeadSpec
from seqrnn.models.threads import DirectionHelper, current_helper, in_caller_modes

#: Inputs this narrow (one-hot DNA: 4) run the conv front end channels-last at inference
#: (:meth:`SeqRNN.conv_front_channels_last`).
FEW_CHANNELS = 16

#: Positions per piece of a batch's channels-last front end: one piece's convolution output (128 channels
#: in bf16: 4 MB) is pooled while it is still in cache; a whole batch's is not (fp32 2x, bf16 1.05x
#: faster on 101-bp windows, same outputs).
FRONT_POSITIONS = 16_384

CELLS: Registry[type[nn.RNNBase]] = Registry("cell")
CELLS.register("lstm")(nn.LSTM)
CELLS.register("gru")(nn.GRU)


@dataclass
class ModelConfig:
    """Architecture hyper-parameters (the ``model:`` section of a training config).

    Each numeric field declares its allowed range as ``metadata["range"]`` (``">= 1"``, ``"[0, 1)"``, ...),
    which :func:`seqrnn.training.config.load_config` enforces.
    """

    cell: str = "lstm"
    input: str = "auto"  # auto | embedding | onehot
    embed_dim: int = field(default=32, metadata={"range": ">= 1"})
    input_dropout: float = field(default=0.0, metadata={"range": "[0, 1)"})
    conv_channels: int = field(default=0, metadata={"range": ">= 0"})  # 0 = no convolutional front end
    conv_kernel: int = field(default=9, metadata={"range": ">= 1"})
    conv_layers: int = field(default=1, metadata={"range": ">= 1"})
    # Max-pool width and stride after the convolutions (DanQ: 13); sequence heads only.
    conv_pool: int = field(default=1, metadata={"range": ">= 1"})
    hidden: int = field(default=128, metadata={"range": ">= 1"})
    layers: int = field(default=2, metadata={"range": ">= 1"})
    dropout: float = field(default=0.2, metadata={"range": "[0, 1)"})
    head_hidden: int = field(default=0, metadata={"range": ">= 0"})  # 0 = linear heads
    head_dropout: float = field(default=0.2, metadata={"range": "[0, 1)"})

    def to_dict(self) -> dict[str, Any]:
        """The section as plain data (stored in bundles as ``metadata["model"]``)."""
        return asdict(self)


class SeqRNN(nn.Module):
    """The BiRNN encoder and its heads; ``head_specs`` are :class:`HeadSpec` or their bundle dicts."""

    def __init__(
        self,
        config: ModelConfig,
        vocab_size: int,
        head_specs: Sequence[HeadSpec | Mapping[str, Any]],
        onehot: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        CELLS.get(config.cell)  # validate early with a helpful message
        if onehot is not None:
            # Fixed input channels travel in the state dict, so a bundle needs no encoder code to rebuild.
            self.embed = nn.Embedding(vocab_size, onehot.shape[1], padding_idx=0)
            self.embed.weight.data.copy_(torch.from_numpy(onehot))
            self.embed.weight.requires_grad_(False)
            n_in = onehot.shape[1]
        else:
            self.embed = nn.Embedding(vocab_size, config.embed_dim, padding_idx=0)
            n_in = config.embed_dim
        self.input_dropout = nn.Dropout(config.input_dropout)
        convs: list[nn.Module] = []
        for _ in range(config.conv_channels and config.conv_layers):
            convs.append(nn.Conv1d(n_in, config.conv_channels, config.conv_kernel, padding="same"))
            n_in = config.conv_channels
        self.convs = nn.ModuleList(convs)
        cell = CELLS.get(config.cell)
        layers = []
        for i in range(config.layers):
            size = n_in if i == 0 else 2 * config.hidden
            layers.append(
                nn.ModuleDict(
                    {
                        # Time-major (L, B, C): the layout oneDNN's RNN kernel takes without a copy.
                        "fwd": cell(size, config.hidden),
                        "bwd": cell(size, config.hidden),
                    }
                )
            )
        self.rnn = nn.ModuleList(layers)
        self.layer_dropout = nn.Dropout(config.dropout)
        self.feature_dropout = nn.Dropout(config.dropout)
        n_feat = 2 * config.hidden
        heads: dict[str, Head] = {}
        for item in head_specs:
            spec = item if isinstance(item, HeadSpec) else HeadSpec.from_dict(item)
            cls = HEADS.get(spec.kind)
            n = n_feat if cls.level == "residue" else 2 * n_feat
            hidden = config.head_hidden if spec.hidden is None else spec.hidden  # heads[].hidden
            heads[spec.name] = cls(spec, n, hidden, config.head_dropout, n_front=n_in)
        self.heads = nn.ModuleDict(heads)
        self._init_weights()

    def _init_weights(self) -> None:
        _init_recurrent(self.rnn, self.config.cell, self.config.hidden)
        for head in self.heads.values():
            if head.branch is not None:
                _init_recurrent(head.branch, "lstm", head.spec.branch)

    @property
    def residue_heads(self) -> list[str]:
        """Names of the per-residue heads, in model order."""
        return [n for n, h in self.heads.items() if h.level == "residue"]

    def encode(
        self, tokens: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) tokens -> (B, L', 2H) features, zero at padding, and the (B, L') mask of real positions
        (L' = L unless ``conv_pool`` shortens it). ``embedded`` (B, L, E) replaces the input layer's
        output, so attributions can take gradients with respect to the (one-hot) input."""
        encoded = self._encode_time_major(tokens, lengths, embedded)
        return encoded.feats.transpose(0, 1), encoded.mask

    def _encode_time_major(
        self, tokens: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
    ) -> Encoded:
        """As :meth:`encode`, but features come time-major, (L', B, 2H), with what branch heads need."""
        mask = tokens.ne(0)
        x = self.input_dropout(self.embed(tokens) if embedded is None else embedded)
        # Batches of full-length rows (variants' and tile's windows, fixed-length peaks) need no
        # masking: multiplying by ones changes nothing, bit for bit, and cost a copy per layer.
        full = bool(mask.all())
        if len(self.convs):
            pool = self.config.conv_pool
            run_front = self.front_end(x.shape[-1])
            x = run_front(x.transpose(1, 2), None if full else mask.unsqueeze(1))
            if pool > 1:
                lengths = torch.div(lengths + pool - 1, pool, rounding_mode="floor")
                mask = torch.arange(x.shape[0], device=x.device).unsqueeze(0) < lengths.to(
                    x.device
                ).unsqueeze(1)
        else:
            x = x.transpose(0, 1)
        reverse = Reverser(lengths.to(x.device), x.shape[0], x.shape[1])
        # Branch heads read the front features again, reversed too: kept, not made twice.
        branches = any(h.branch is not None for h in self.heads.values())
        front, front_reversed = x, reverse(x) if branches else None
        helper = current_helper() if not torch.is_grad_enabled() else None
        for i, layer in enumerate(self.rnn):
            if i:
                x = self.layer_dropout(x)
            x = run_bidirectional(layer, x, reverse, helper, backward=None if i else front_reversed)
        if not full:
            x = x * mask.T.unsqueeze(-1).to(x.dtype)
        return Encoded(self.feature_dropout(x), mask, front, reverse, front_reversed)

    def _conv_front(
        self, x: torch.Tensor, keep: torch.Tensor | None, padding: str | int = "same"
    ) -> torch.Tensor:
        """(B, E, L) -> conv layers, ReLU, max-pool -> (L', B, C); ``keep`` (B, 1, L) zeroes padding
        before each convolution (None: full-length rows, nothing to zero). ``padding=0``: as
        :meth:`conv_front_channels_last`'s."""
        for conv in self.convs:
            # The mask in the activations' dtype: a float32 mask would promote bf16 activations to
            # float32 (a copy there and back), with the same values.
            x = x if keep is None else x * keep.to(x.dtype)
            x = torch.relu(conv(x) if padding == "same" else nn.functional.conv1d(x, conv.weight, conv.bias))
        if keep is not None:
            x = x * keep.to(x.dtype)
        pool = self.config.conv_pool
        if pool > 1:
            # ReLU outputs are >= 0 and padding is 0, so padding never wins a max over real positions.
            x = nn.functional.max_pool1d(x, pool, pool, ceil_mode=True)
        return x.permute(2, 0, 1)

    @property
    def convs_hooked(self) -> bool:
        """Whether a convolution has forward hooks (filter ablation): they need the modules' own calls."""
        return any(c._forward_hooks or c._forward_pre_hooks for c in self.convs)

    def front_end(self, channels: int) -> Callable[..., torch.Tensor]:
        """The conv front end a batch of ``channels`` input channels takes: channels-last
        (:meth:`conv_front_channels_last`) where conv1d is slow, few input channels (one-hot DNA: 4);
        training, gradients and hooked convolutions (filter ablation) keep the modules' own path."""
        fast = channels <= FEW_CHANNELS and not (torch.is_grad_enabled() or self.convs_hooked)
        return self.conv_front_channels_last if fast else self._conv_front

    def conv_front_channels_last(
        self, x: torch.Tensor, keep: torch.Tensor | None, padding: str | int = "same"
    ) -> torch.Tensor:
        """:meth:`_conv_front` for inference, as 2-D convolutions over a (B, E, 1, L) channels-last
        tensor: oneDNN's channels-last convolution and pooling run the front end 2.0x (bf16) to 2.2x
        (fp32) faster than ``conv1d`` and ``max_pool1d`` on the one-hot DNA input (E = 4), same
        outputs. With a 32-wide protein embedding the gain is 1.3x (bf16) on a front end that is a small
        part of the model, for up to a quarter more peak memory, so wide inputs keep :meth:`_conv_front`.
        ``padding=0``: no padding, (B, E, L + k - 1) in, L out (one layer; what a window's changed
        stretch needs, :mod:`seqrnn.models.substitutions`)."""
        rows = max(1, FRONT_POSITIONS // x.shape[-1])
        if x.shape[0] > rows:
            piece = self.conv_front_channels_last
            cut = (lambda t, i: None) if keep is None else (lambda t, i: t[i : i + rows])
            return torch.cat(
                [piece(x[i : i + rows], cut(keep, i), padding) for i in range(0, len(x), rows)], 1
            )
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        keep = None if keep is None else keep.unsqueeze(2)
        last = len(self.convs) - 1
        pool = self.config.conv_pool
        for i, conv in enumerate(self.convs):
            x = x if keep is None else x * keep.to(x.dtype)
            x = nn.functional.conv2d(x, conv.weight.unsqueeze(2), conv.bias, padding=padding)
            if i < last or pool == 1:
                torch.relu_(x)  # in place: no graph to keep
        if keep is not None:
            x = x * keep.to(x.dtype)
        if pool > 1:
            # max(relu(.)) == relu(max(.)): the ReLU runs on the pooled, P times smaller tensor. Padding
            # (0 after the mask) still never wins over a real position once the ReLU is applied.
            x = torch.relu_(nn.functional.max_pool2d(x, (1, pool), (1, pool), ceil_mode=True))
        return x.squeeze(2).permute(2, 0, 1)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Raw logits per head: residue heads (B, L, C), sequence heads (B, C) from masked mean+max pooling.

        Args:
            tokens: (B, L) int64, 0 = padding.
            lengths: (B,) int64.
            embedded: optional (B, L, E) input replacing the input layer's output (see :meth:`encode`).
        """
        encoded = self._encode_time_major(tokens, lengths, embedded)
        feats = encoded.feats
        outputs: dict[str, torch.Tensor] = {}
        pooled: torch.Tensor | None = None
        for name, head in self.heads.items():
            if head.level == "residue":
                if head.branch is not None and not self.training and head.splits:
                    logits = head.branch_logits(feats, *encoded[2:])
                else:
                    x = feats if head.branch is None else self.with_branch(head, feats, *encoded[2:])
                    logits = head(x)
                outputs[name] = logits.transpose(0, 1)  # per position, so time-major is fine
            else:
                if pooled is None:
                    pooled = masked_mean_max(feats.transpose(0, 1), encoded.mask)
                outputs[name] = head(pooled)
        return outputs

    def with_branch(
        self,
        head: Head,
        feats: torch.Tensor,
        front: torch.Tensor,
        reverse: Callable[[torch.Tensor], torch.Tensor],
        front_reversed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """A branch head's input: the shared (L, B, 2H) features and its own BiLSTM over the (L, B, C)
        front features side by side, (L, B, 2H + 2 * branch), in the features' dtype.
        ``front_reversed``: the front features reversed, when the encoder's first layer made them."""
        assert head.branch is not None
        own = run_bidirectional(head.branch, front, reverse, backward=front_reversed)
        return torch.cat([feats, own.to(feats.dtype)], dim=-1)

    def predict(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """What prediction writes: each head's probabilities or values in original units, float32.

        Residue heads (B, L', C), sequence heads (B, C). Without gradients, in eval mode, a batch of one
        sequence longer than :data:`seqrnn.models.chunked.LONG_SEQUENCE` goes through
        :func:`seqrnn.models.chunked.predict_chunked` (same outputs up to float rounding, memory bounded
        by the length times a small constant)."""
        # The length test first: a usual batch never looks further.
        if tokens.shape[1] > chunked.LONG_SEQUENCE and chunked.takes_chunked(self, tokens, lengths):
            return predict_chunked(self, tokens, lengths)
        logits = self(tokens, lengths)
        return {name: head.postprocess(logits[name]) for name, head in self.heads.items()}


class Encoded(NamedTuple):
    """What the encoder hands the heads, time-major: ``feats`` (L', B, 2H) shared features, ``mask``
    (B, L') real positions, ``front`` (L', B, C) the recurrent layers' input (front-end features, for
    branch heads), ``reverse`` the within-length reversal of this batch and ``front_reversed`` the front
    features reversed (None without branch heads)."""

    feats: torch.Tensor
    mask: torch.Tensor
    front: torch.Tensor
    reverse: Callable[[torch.Tensor], torch.Tensor]
    front_reversed: torch.Tensor | None = None


class Reverser:
    """Reverses each sequence of a time-major (L, B, C) batch within its own length, padding left in place.

    Row r = t * B + b of the flattened (L * B, C) tensor; a row gather is a memcpy per row, far cheaper
    than an element-wise gather with an index as large as the data."""

    def __init__(self, lengths: torch.Tensor, n_steps: int, batch: int) -> None:
        rows = reverse_index(lengths, n_steps).T * batch
        self.rows = (rows + torch.arange(batch, device=lengths.device)).reshape(-1)
        self.n_steps, self.batch = n_steps, batch

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        flat = t.reshape(self.n_steps * self.batch, t.shape[-1])
        return flat.index_select(0, self.rows).view(self.n_steps, self.batch, t.shape[-1])


def run_bidirectional(
    layer: nn.ModuleDict,
    x: torch.Tensor,
    reverse: Callable[[torch.Tensor], torch.Tensor],
    helper: DirectionHelper | None = None,
    backward: torch.Tensor | None = None,
) -> torch.Tensor:
    """One bidirectional layer (``layer["fwd"]``, ``layer["bwd"]``) over time-major (L, B, C) ``x``:
    (L, B, 2H), the backward direction run on the within-length reversed input (``backward`` when the
    caller has it already; on ``helper``'s spare thread when one is free) and put back in sequence order."""
    backward = reverse(x) if backward is None else backward
    pending = helper.try_submit(in_caller_modes(layer["bwd"]), backward) if helper else None
    fwd, _ = layer["fwd"](x)
    bwd, _ = pending.result() if pending is not None else layer["bwd"](backward)
    return torch.cat([fwd, reverse(bwd)], dim=-1)


def reverse_index(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, L) gather index reversing positions [0, length) of each row and leaving padding in place."""
    positions = torch.arange(max_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


def _init_recurrent(module: nn.Module, cell: str, hidden: int) -> None:
    """Initialise the recurrent layers in ``module``: orthogonal recurrent weights per gate (they keep
    BPTT gradients from exploding or vanishing early), Xavier input weights, zero biases and, for LSTMs,
    forget-gate bias 1 (Jozefowicz et al. 2015)."""
    for name, param in module.named_parameters():
        if "weight_hh" in name:
            for chunk in param.data.chunk(4 if cell == "lstm" else 3, dim=0):
                nn.init.orthogonal_(chunk)
        elif "weight_ih" in name:
            nn.init.xavier_uniform_(param.data)
        elif "bias" in name:
            param.data.zero_()
            if cell == "lstm" and "bias_ih" in name:
                param.data[hidden : 2 * hidden] = 1.0


def masked_mean_max(feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, F) features, (B, L) bool mask -> (B, 2F) mean and max over the real positions."""
    if not torch.is_grad_enabled() and bool(mask.all()):
        # Full-length rows (genome windows, fixed-length peaks): nothing to leave out; the same sums,
        # without two passes over the features that multiply by one and fill nothing.
        return torch.cat([feats.sum(1) / feats.shape[1], feats.amax(1)], dim=-1)
    m = mask.unsqueeze(-1).to(feats.dtype)
    mean = (feats * m).sum(1) / m.sum(1).clamp_min(1.0)
    maxed = feats.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
    return torch.cat([mean, maxed], dim=-1)
