"""Outputs of a reference window and of an alternative window that differs from it at a few positions,
the alternative computed from the reference's own work (what variant scoring needs: REF and ALT).

``model`` is a :class:`~seqrnn.models.rnn.SeqRNN` (typed as a module here: this module sits below it).

Shapes (R = references, G = alternatives, L = window length, P = ``conv_pool``, T = ceil(L / P)
pooled steps, C = front channels, H = hidden):
    ref (R, L), alt (G, L) int64 tokens, full length (no padding); owner (G,) the reference row of each
    alternative, which equals it outside a span of positions
    -> front features (T, G, C): the alternative's recomputed only in the pooled steps [ta, tb] that
       the changed positions reach through the convolution (an SNV in the middle of a 101-bp window
       with k = 19, P = 8: 3 of 13 steps, 24 of 101 convolution outputs)
    -> first recurrent layer: the forward direction runs the reference's steps [0, ta) once and both
       windows from there on, the backward direction the reference's steps (tb, T) once and both
       windows from there back (an SNV as above: 16 of 26 steps for the alternative)
    -> higher layers, pooling and heads on both windows as :meth:`SeqRNN.forward` runs them
    -> per sequence-level head (R, C) for the references and (G, C) for the alternatives, as
       :meth:`SeqRNN.predict` gives them.

The results are those of two :meth:`SeqRNN.predict` calls up to float rounding: the recurrent kernel
is the same, started from the state the reference reached where the windows start to differ.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqrnn.models.rnn import run_bidirectional


def takes_pairs(model: nn.Module) -> bool:
    """Whether :func:`predict_pairs` applies: a single :class:`SeqRNN` in eval mode, without gradients,
    with only sequence-level heads (no branch heads) and at most one convolution layer."""
    heads = getattr(model, "heads", None)
    return (
        heads is not None
        and hasattr(model, "rnn")
        and not model.training
        and not torch.is_grad_enabled()
        and len(model.convs) <= 1
        and not model.convs_hooked  # filter ablation runs through SeqRNN.forward
        and all(h.level != "residue" for h in heads.values())
    )


@torch.no_grad()
def predict_pairs(
    model: nn.Module, ref: torch.Tensor, alt: torch.Tensor, owner: torch.Tensor | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(ref_outputs, alt_outputs)``: per sequence-level head (R, C) and (G, C) float32, as
    :meth:`SeqRNN.predict` gives for the ``ref`` (R, L) and ``alt`` (G, L) windows (see the module
    docstring). ``owner`` (G,): the reference row of each alternative (default: row i for row i, R = G).

    A reference is run once however many alternatives it has (a multi-allelic record, a saturation
    run's three ALTs). Alternatives are grouped by the pooled steps their change reaches (for variants'
    windows, where the allele sits in the middle, all SNVs of one width form one group); one equal to
    its reference gets the reference's outputs."""
    if owner is None:
        owner = torch.arange(alt.shape[0], device=alt.device)
    if ref.dim() != 2 or alt.dim() != 2 or ref.shape[1] != alt.shape[1] or owner.shape != alt.shape[:1]:
        raise ValueError("predict_pairs takes ref (R, L), alt (G, L) and owner (G,)")
    length = ref.shape[1]
    pool = model.config.conv_pool if len(model.convs) else 1
    steps = -(-length // pool)
    differs = ref[owner].ne(alt)
    changed = differs.any(1)
    first = differs.int().argmax(1)
    last = length - 1 - differs.flip(1).int().argmax(1)
    lo, hi = _reach(model, first, last, length)
    spans = torch.stack([lo // pool, hi // pool], 1).cpu().numpy()
    front = _front(model, ref, 0, length)  # (T, R, C)
    ref_out: dict[str, torch.Tensor] = {}
    alt_out: dict[str, torch.Tensor] = {}
    done = torch.zeros(ref.shape[0], dtype=torch.bool, device=ref.device)
    keys = spans[:, 0] * (steps + 1) + spans[:, 1]
    keys[~changed.cpu().numpy()] = -1
    for key in np.unique(keys[keys >= 0]).tolist():
        rows = torch.from_numpy(np.flatnonzero(keys == key)).to(ref.device)
        ta, tb = divmod(key, steps + 1)
        owners, inv = torch.unique(owner[rows], return_inverse=True)
        s, e = ta * pool, min((tb + 1) * pool, length)
        changed_front = _front(model, alt[rows], s, e)  # (tb - ta + 1, g, C)
        whole = len(owners) == ref.shape[0]  # every reference: no gather
        one_each = len(owners) == len(rows) and bool(
            (inv == torch.arange(len(rows), device=inv.device)).all()
        )
        group_front = front if whole else front[:, owners]
        feats = _features(model, group_front, changed_front, None if one_each else inv, ta, tb, steps)
        both = _heads(model, feats)
        r = len(owners)
        _put(ref_out, owners, {k: v[:r] for k, v in both.items()}, ref.shape[0])
        _put(alt_out, rows, {k: v[r:] for k, v in both.items()}, alt.shape[0])
        done[owners] = True
    rest = (~done).nonzero().squeeze(1)
    if len(rest):
        _put(ref_out, rest, _heads(model, _features(model, front[:, rest])), ref.shape[0])
    same = (~changed).nonzero().squeeze(1)
    if len(same):
        _put(alt_out, same, {k: v[owner[same]] for k, v in ref_out.items()}, alt.shape[0])
    return ref_out, alt_out


def _put(into: dict[str, torch.Tensor], rows: torch.Tensor, values: dict[str, torch.Tensor], n: int) -> None:
    """Write ``values[head]`` (len(rows), C) into rows ``rows`` of ``into[head]`` (n, C), made on first use."""
    for k, v in values.items():
        if k not in into:
            into[k] = torch.empty((n, *v.shape[1:]), dtype=v.dtype, device=v.device)
        into[k][rows] = v


def _reach(
    model: nn.Module, first: torch.Tensor, last: torch.Tensor, length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The convolution outputs [lo, hi] that changed input positions [first, last] reach (same padding:
    output i reads inputs i - left .. i + right)."""
    if not len(model.convs):
        return first, last
    k = model.convs[0].kernel_size[0]
    left = (k - 1) // 2
    right = k - 1 - left
    return (first - right).clamp_min(0), (last + left).clamp_max(length - 1)


def _front(model: nn.Module, tokens: torch.Tensor, s: int, e: int) -> torch.Tensor:
    """The front features of input positions [s, e) (``s`` a multiple of the pool width), time-major
    (ceil((e - s) / P), g, C). A whole window runs as :meth:`SeqRNN.forward` runs it; a stretch reads
    the inputs the convolution needs around it, zero past the window's ends as ``padding="same"``
    gives (token 0, padding, embeds to zeros)."""
    length = tokens.shape[1]
    if not len(model.convs):
        return model.embed(tokens[:, s:e]).transpose(0, 1)
    run_front = model.front_end(model.embed.embedding_dim)  # the path SeqRNN.forward takes
    if (s, e) == (0, length):
        return run_front(model.embed(tokens).transpose(1, 2), None)
    k = model.convs[0].kernel_size[0]
    left = (k - 1) // 2
    a, b = s - left, e + k - 1 - left  # inputs [a, b) give outputs [s, e) without padding
    if a < 0 or b > length:
        tokens = nn.functional.pad(tokens, (max(-a, 0), max(b - length, 0)))
        a, b = a + max(-a, 0), b + max(-a, 0)
    return run_front(model.embed(tokens[:, a:b]).transpose(1, 2), None, padding=0)  # (g, E, b - a) in


def _features(
    model: nn.Module,
    front: torch.Tensor,
    changed: torch.Tensor | None = None,
    owner: torch.Tensor | None = None,
    ta: int = 0,
    tb: int = 0,
    steps: int = 0,
) -> torch.Tensor:
    """Top features (T, r, 2H) of the references (``changed`` None), or (T, r + g, 2H) of the r
    references then the g alternatives: alternative j is reference ``owner[j]``'s front features (j's
    own when ``owner`` is None) with steps [ta, tb] replaced by ``changed[:, j]``."""
    layers = list(model.rnn)
    if changed is None:
        x = _bidirectional(layers[0], front)
    else:
        alt = front.clone() if owner is None else front[:, owner]
        alt[ta : tb + 1] = changed
        fwd = _continued(layers[0]["fwd"], front, alt, owner, ta)
        bwd = _continued(layers[0]["bwd"], front.flip(0), alt.flip(0), owner, steps - 1 - tb).flip(0)
        x = torch.cat([fwd, bwd], dim=-1)
    for layer in layers[1:]:
        x = _bidirectional(layer, x)
    return x


def _bidirectional(layer: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
    """A bidirectional layer over full-length time-major rows (the reversal is a flip)."""
    return run_bidirectional(layer, x, lambda t: t.flip(0))


def _continued(
    rnn: nn.Module, ref: torch.Tensor, alt: torch.Tensor, owner: torch.Tensor | None, shared: int
) -> torch.Tensor:
    """One direction over the references (T, r, C) and the alternatives (T, g, C), alternative j equal
    to reference ``owner[j]`` (reference j when ``owner`` is None) in the first ``shared`` steps: those
    run once per reference, and every window goes on from the state its reference reached. (T, r + g, H)."""
    if shared <= 0:
        out, _ = rnn(torch.cat([ref, alt], 1))
        return out
    head, state = rnn(ref[:shared])

    def both(t: torch.Tensor) -> torch.Tensor:  # (., r, .) -> (., r + g, .): references, then alternatives
        return t.repeat(1, 2, 1) if owner is None else torch.cat([t, t[:, owner]], 1)

    state = tuple(both(s) for s in state) if isinstance(state, tuple) else both(state)  # LSTM: (h, c)
    tail, _ = rnn(torch.cat([ref[shared:], alt[shared:]], 1), state)
    return torch.cat([both(head), tail], 0)


def _heads(model: nn.Module, feats: torch.Tensor) -> dict[str, torch.Tensor]:
    """Sequence-level heads' outputs (B, C) on full-length top features (T, B, 2H)."""
    # masked_mean_max's full-length case, reduced over the time-major steps where they lie.
    pooled = torch.cat([feats.sum(0) / feats.shape[0], feats.amax(0)], dim=-1)
    return {name: head.postprocess(head(pooled)) for name, head in model.heads.items()}
