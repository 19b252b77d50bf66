"""Training: config -> data -> model -> AdamW/BPTT loop with clipping, early stopping and checkpoints."""

from seqrnn.training.trainer import TrainResult, train

__all__ = ["TrainResult", "train"]
