"""torch.distributed for training: joining the group torchrun describes, and the few collectives the loop needs.

Data parallel: every process reads the same data and builds the same seeded batch list per epoch, then
takes every ``world``-th batch; DistributedDataParallel averages gradients. Rank 0 alone validates (and
broadcasts the metrics, so every process takes the same early-stopping decision) and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch

from seqrnn.core.runtime import resolve_device


@dataclass
class DistContext:
    """This process's place in a torch.distributed run (``torchrun``); a no-op for a single process."""

    rank: int = 0
    world: int = 1
    backend: str = ""
    owns_group: bool = False

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the process that validates and writes files."""
        return self.rank == 0

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` in DistributedDataParallel for several processes (on ``device`` if CUDA); else as is."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def barrier(self) -> None:
        """Wait until every process gets here (nothing for a single process)."""
        if self.world > 1:
            torch.distributed.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (any picklable object) on every process."""
        if self.world == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, value: float) -> float:
        """The sum of ``value`` over all processes, as a float."""
        if self.world == 1:
            return value
        t = torch.tensor([float(value)], dtype=torch.float64)
        torch.distributed.all_reduce(t)
        return float(t.item())

    def any(self, flag: bool) -> bool:
        """True on every process if it is true on one (a signal may reach only some of them)."""
        if self.world == 1:
            return flag
        return self.sum(1.0 if flag else 0.0) > 0

    def close(self) -> None:
        """Leave the process group, if this context joined it (:func:`init_distributed`)."""
        if self.owns_group:
            torch.distributed.destroy_process_group()


def init_distributed(device_name: str, timeout_minutes: float) -> tuple[DistContext, torch.device]:
    """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on GPU).

    ``timeout_minutes`` bounds every collective (``train.dist_timeout_minutes``): the other ranks wait
    at a barrier while rank 0 validates, so it has to outlast a validation pass.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world <= 1:
        return DistContext(), device
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        backend = "gloo"
    owns = not torch.distributed.is_initialized()
    if owns:
        torch.distributed.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    return DistContext(rank, world, backend, owns), device
