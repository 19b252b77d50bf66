"""What a DNA model learned: in-silico mutagenesis, gradient saliency and motifs.

Attribution shapes (N sequences of lengths L_i, R = sum L_i; columns A C G T), stored like predictions
(``/ids``, ``/lengths``, ``/offsets``, rows of sequence i at ``offsets[i]:offsets[i+1]``):
    ``ism`` (R, 4): score with base b at position l minus the score of the sequence (0 at its own base)
    ``saliency`` (R, 4): gradient of the score with respect to the one-hot input, times the input
    ``score`` (N,): the score of each sequence
The score is one head output before the final squashing: the target class's log-odds (classification),
the logit (multi-label) or the standardised value (regression). A model that averages strands at
prediction time is interpreted the same way: every score is the mean over both strands.

Motifs:
    * filter motifs (models with a convolutional front end): each first-layer filter's PFM is built from
      the windows where it fires at >= half its maximum over the sequences (DanQ, Basset); filters are
      ranked by influence, the mean drop of the score when the filter is switched off.
    * a seqlet motif (any model): each sequence's highest-attribution window (saliency; ISM for models
      with a learned input embedding), re-aligned over both strands by a few rounds of PFM refitting.
"""

from seqrnn.interpret.attributions import (
    BASES,
    Target,
    attributions_to_h5,
    has_onehot_input,
    ism,
    resolve_target,
    saliency,
    score_examples,
    select_examples,
    target_score,
)
from seqrnn.interpret.learned_motifs import (
    FilterMotif,
    MotifReport,
    extract_motifs,
    filter_motifs,
    seqlet_motif,
)

__all__ = [
    "BASES",
    "FilterMotif",
    "MotifReport",
    "Target",
    "attributions_to_h5",
    "extract_motifs",
    "filter_motifs",
    "has_onehot_input",
    "ism",
    "resolve_target",
    "saliency",
    "score_examples",
    "select_examples",
    "seqlet_motif",
    "target_score",
]
