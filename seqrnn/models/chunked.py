"""The long-sequence path of :meth:`SeqRNN.predict`: one sequence run over time chunks, so its memory
grows by a few KB per position instead of every layer's full-length activations at once.

``model`` is a :class:`~seqrnn.models.rnn.SeqRNN` (typed as a module here: this module sits below it).

Shapes: ``tokens`` (1, L) int64 without padding; the pooled length L' = ceil(L / conv_pool); each
direction's hidden state is carried from chunk to chunk; outputs as the dense path's, residue heads
(1, L', C), sequence heads (1, C), float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from seqrnn.core.memory import release_free_memory
from seqrnn.models.threads import DirectionHelper, current_helper, in_caller_modes

#: Without gradients, a batch of one sequence longer than this many positions is predicted in time
#: chunks (:func:`predict_chunked`), so its memory grows by a few KB per residue, not ~12 KB.
#: Shorter sequences and every batch of several keep the dense path (and its exact outputs).
LONG_SEQUENCE = 16_384
#: Input positions per chunk of the long-sequence path: large enough that the per-call overhead of the
#: RNN kernel does not show, small enough that a chunk's activations stay a few tens of MB.
CHUNK_POSITIONS = 4_096

#: ``inputs(s, e)``: a layer's time-major input for the (pooled) positions [s, e), (e - s, 1, C).
Inputs = Callable[[int, int], torch.Tensor]


def takes_chunked(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor) -> bool:
    """Whether :meth:`SeqRNN.predict` takes the chunked path: one unpadded sequence longer than
    :data:`LONG_SEQUENCE`, in eval mode, without gradients."""
    return (
        tokens.shape[0] == 1
        and tokens.shape[1] > LONG_SEQUENCE
        and not model.training
        and not torch.is_grad_enabled()
        and int(lengths[0]) == tokens.shape[1]
    )


@torch.no_grad()
def predict_chunked(
    model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, chunk: int | None = None
) -> dict[str, torch.Tensor]:
    """:meth:`SeqRNN.predict` for one sequence, run over time chunks of about ``chunk`` positions
    (default :data:`CHUNK_POSITIONS`), in eval mode only (dropout is not applied).

    Why: the dense path holds every layer's full-length activations at once (input projections
    (L, 4H) per direction, reversed copies, concatenations: about 12 KB per residue for protein-ss),
    so one long chain cost far more memory than a batch of the same token count. Here each
    direction carries its hidden state from chunk to chunk (forwards in chunk order, backwards in
    reverse chunk order), and what stays whole-length is only each lower layer's output, (L', H)
    per direction. The last layer's backward direction runs twice: a first pass keeps only its
    state at each chunk boundary, and the final pass recomputes a chunk's outputs from there next
    to the forward direction's, so the top features exist one chunk at a time and go straight into
    the heads (residue heads written per chunk, sequence heads pooled by running sum and max).
    Peak memory: about 4 * 2H bytes per position at fp32 for two layers (three layers or more:
    4 * 4H), plus the outputs; compute: the last layer's backward direction twice (+25% of the
    RNN for two layers, hidden on a spare thread when one is lent, see :func:`direction_helper`).

    Args:
        tokens: (1, L) int64, no padding.
        lengths: (1,) int64, equal to L.
        chunk: input positions per chunk (rounded to a multiple of ``conv_pool``).

    Returns:
        As :meth:`SeqRNN.predict`: residue heads (1, L', C), sequence heads (1, C), float32.
    """
    if tokens.shape[0] != 1 or int(lengths[0]) != tokens.shape[1]:
        raise ValueError("predict_chunked takes one unpadded sequence: tokens (1, L), lengths [L]")
    if model.training:
        raise ValueError("predict_chunked runs in eval mode only")
    pool = model.config.conv_pool if len(model.convs) else 1
    m = -(-tokens.shape[1] // pool)  # pooled length L'
    spans = _chunk_spans(m, max(1, (chunk or CHUNK_POSITIONS) // pool))
    helper = current_helper()
    first: Inputs = partial(_first_input, model, tokens, pool)
    inputs = first
    layers = list(model.rnn)
    for layer in layers[:-1]:
        inputs = _chunked_layer(model, layer, inputs, spans, m, helper)
    entry = _backward_entry_states(layers[-1]["bwd"], inputs, spans)
    top = _TopFeatures({k: [] for k in model.residue_heads})
    state: Any = None
    for s, e in spans:
        feats, state = _top_chunk(model, layers[-1], inputs(s, e), state, entry[s], helper)
        top.add(model, feats)
    return _head_outputs(model, top, m, first)


def _chunk_spans(m: int, step: int) -> list[tuple[int, int]]:
    """[start, end) of each chunk of ``step`` pooled positions over the pooled length ``m``."""
    return [(s, min(s + step, m)) for s in range(0, m, step)]


def _first_input(model: nn.Module, tokens: torch.Tensor, pool: int, s: int, e: int) -> torch.Tensor:
    """(e - s, 1, C) time-major layer-0 input of (pooled) positions [s, e) of ``tokens`` (1, L)."""
    n = tokens.shape[1]
    a, b = s * pool, min(e * pool, n)
    if not len(model.convs):
        return model.input_dropout(model.embed(tokens[:, a:b])).transpose(0, 1)
    # Enough neighbours on each side that the cropped convolution outputs are exact; at the
    # sequence's ends the convolutions' own zero padding is what the dense path sees too.
    halo = sum(conv.kernel_size[0] - 1 for conv in model.convs)  # type: ignore[index]
    lo, hi = max(0, a - halo), min(n, b + halo)
    x = model.input_dropout(model.embed(tokens[:, lo:hi])).transpose(1, 2)
    for conv in model.convs:
        x = torch.relu(conv(x))
    x = x[:, :, a - lo : b - lo]
    if pool > 1:  # chunks start at multiples of the pool width, so pools never straddle two
        x = nn.functional.max_pool1d(x, pool, pool, ceil_mode=True)
    return x.permute(2, 0, 1)


def _chunked_layer(
    model: nn.Module,
    layer: nn.Module,
    inputs: Inputs,
    spans: Sequence[tuple[int, int]],
    m: int,
    helper: DirectionHelper | None,
) -> Inputs:
    """Run a lower layer's two directions chunk by chunk over ``inputs(s, e)`` ((e - s, 1, C)),
    keeping each direction's (m, 1, H) output; returns the next layer's ``inputs``."""
    backward = partial(_whole_backward, layer["bwd"], inputs, spans, m)
    pending = helper.try_submit(in_caller_modes(backward), torch.empty(0)) if helper else None
    fwd = _whole_forward(layer["fwd"], inputs, spans, m)
    bwd = pending.result() if pending is not None else backward()
    return partial(_next_inputs, model, fwd, bwd)


def _whole_forward(cell: nn.Module, inputs: Inputs, spans: Sequence[tuple[int, int]], m: int) -> torch.Tensor:
    """A forward direction over every chunk in order, carrying its state; its (m, 1, H) output."""
    out: torch.Tensor | None = None
    state: Any = None
    for s, e in spans:
        y, state = cell(inputs(s, e), state)
        if out is None:  # dtype as the kernel gives it (bf16 under autocast where it runs so)
            out = y.new_empty((m, *y.shape[1:]))
        out[s:e] = y
        release_free_memory()
    assert out is not None
    return out


def _whole_backward(
    cell: nn.Module, inputs: Inputs, spans: Sequence[tuple[int, int]], m: int, _: object = None
) -> torch.Tensor:
    """A backward direction over every chunk in reverse order, carrying its state; its (m, 1, H)
    output in sequence order. The unused last argument lets a spare thread call it as ``fn(x)``."""
    out: torch.Tensor | None = None
    state: Any = None
    for s, e in reversed(spans):
        y, state = cell(inputs(s, e).flip(0), state)
        if out is None:
            out = y.new_empty((m, *y.shape[1:]))
        out[s:e] = y.flip(0)
        release_free_memory()
    assert out is not None
    return out


def _next_inputs(model: nn.Module, fwd: torch.Tensor, bwd: torch.Tensor, s: int, e: int) -> torch.Tensor:
    """The next layer's input for positions [s, e): both directions' outputs side by side, (e - s, 1, 2H)."""
    return model.layer_dropout(torch.cat([fwd[s:e], bwd[s:e]], dim=-1))


def _top_chunk(
    model: nn.Module,
    last: nn.Module,
    x: torch.Tensor,
    state: Any,
    entry: Any,
    helper: DirectionHelper | None,
) -> tuple[torch.Tensor, Any]:
    """The last layer on one chunk's input ``x`` (T, 1, C): the forward direction from ``state``, the
    backward one from its ``entry`` state (on a spare thread when one is free). Returns the top
    features (T, 1, 2H) and the forward direction's state for the next chunk."""
    pending = (
        helper.try_submit(in_caller_modes(partial(_reversed_run, last["bwd"], state=entry)), x)
        if helper
        else None
    )
    fwd, state = last["fwd"](x, state)
    bwd = pending.result() if pending is not None else _reversed_run(last["bwd"], x, entry)
    release_free_memory()  # chunk temporaries of varying size: keeps the heap from fragmenting
    return model.feature_dropout(torch.cat([fwd, bwd], dim=-1)), state


@dataclass
class _TopFeatures:
    """What the heads need of the top features, gathered chunk by chunk: each residue head's outputs
    per chunk ((T, 1, C) each), and for the sequence heads the running sum (float64) and maximum of
    the features over positions, (1, 2H) each (None until a chunk was added, or without such heads)."""

    residue: dict[str, list[torch.Tensor]]
    total: torch.Tensor | None = None
    peak: torch.Tensor | None = None

    def add(self, model: nn.Module, feats: torch.Tensor) -> None:
        """Take one chunk's top features (T, 1, 2H)."""
        for name in self.residue:
            head = model.heads[name]
            # A branch head runs its own BiLSTM over the whole sequence at the end: keep the features.
            self.residue[name].append(feats if head.branch is not None else head.postprocess(head(feats)))
        if len(self.residue) < len(model.heads):
            part = feats.sum(0, dtype=torch.float64)
            self.total = part if self.total is None else self.total + part
            top = feats.amax(0)
            self.peak = top if self.peak is None else torch.maximum(self.peak, top)


def _head_outputs(model: nn.Module, top: _TopFeatures, m: int, first: Inputs) -> dict[str, torch.Tensor]:
    """Every head's output: residue heads (1, L', C) from their chunks, sequence heads (1, C) from the
    mean and max of the top features over the ``m`` pooled positions. A branch head's BiLSTM runs once
    over the whole sequence's front features (``first(0, m)``, (m, 1, C): a few hundred bytes per
    position) beside its kept top features."""
    outputs: dict[str, torch.Tensor] = {}
    for name, head in model.heads.items():
        if name in top.residue and head.branch is not None:
            feats = model.with_branch(head, torch.cat(top.residue[name]), first(0, m), _flip)
            outputs[name] = head.postprocess(head(feats)).transpose(0, 1)
        elif name in top.residue:
            outputs[name] = torch.cat(top.residue[name]).transpose(0, 1)  # (1, L', C)
        else:
            assert top.total is not None and top.peak is not None
            pooled = torch.cat([(top.total / m).to(top.peak.dtype), top.peak], dim=-1)  # (1, 4H)
            outputs[name] = head.postprocess(head(pooled))
    return outputs


def _flip(t: torch.Tensor) -> torch.Tensor:
    """The reversal of one unpadded (T, 1, C) sequence."""
    return t.flip(0)


def _reversed_run(cell: nn.Module, x: torch.Tensor, state: Any = None) -> torch.Tensor:
    """One chunk of a backward direction: ``cell`` over (T, 1, C) ``x`` read back to front, starting from
    ``state`` (that of the chunk after); outputs in ``x``'s order, (T, 1, H)."""
    return cell(x.flip(0), state)[0].flip(0)


def _backward_entry_states(
    cell: nn.Module, inputs: Inputs, spans: Sequence[tuple[int, int]]
) -> dict[int, Any]:
    """A backward direction's state on entering each chunk (keyed by the chunk's start; None for the
    last chunk, where it starts), from one pass in reverse chunk order that keeps no outputs."""
    entry: dict[int, Any] = {}
    state: Any = None
    for s, e in reversed(spans):
        entry[s] = state
        _, state = cell(inputs(s, e).flip(0), state)
        release_free_memory()
    return entry
