"""Data parallelism for PPO: what makes N processes take the steps one process takes on the same global batch.

Under `accelerate launch` or `torchrun` every process holds a whole actor-critic and rolls out its share of the
global batch (`ppo.train`). Three things make N processes compute what one process computes:
  1. every process starts from rank 0's weights                          `broadcast_parameters`
  2. statistics (advantage whitening, the token count of each minibatch,  `all_sum`, `mean_over_processes`
     the logged means) are summed over the processes
  3. so are the gradients before each optimizer step                     `sync_gradients`
and the rank arithmetic that says which episodes are this process's (`local_share`, `local_rows`).
With one process (torch.distributed not initialised) every helper does nothing: `ppo.py` reads as single-process
code with one-line calls here, as Spinning Up calls `mpi_avg_grads`. docs/scaling.md has the argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn


def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this is rank 0 (the process that shows progress and writes checkpoints)."""
    return world()[0] == 0


# ============================================================================= which episodes are mine
def local_share(items: Sequence) -> Sequence:
    """This process's equal, contiguous share of a global batch (all of it with one process)."""
    rank, n_proc = world()
    if len(items) % n_proc:
        raise ValueError(f"batch_size {len(items)} must be a multiple of the number of processes ({n_proc})")
    share = len(items) // n_proc
    return items[rank * share:(rank + 1) * share]


def global_size(n_local: int) -> int:
    """The size of the global batch whose equal shares hold `n_local` episodes each."""
    return n_local * world()[1]


def local_rows(rows: torch.Tensor, n_local: int) -> torch.Tensor:
    """The rows of a global minibatch (indices into the global batch) that this process holds, as indices into its
    own share (`local_share`: episodes [rank * n_local, (rank + 1) * n_local)); `rows` itself with one process."""
    first = world()[0] * n_local
    return rows[(rows >= first) & (rows < first + n_local)] - first


# ======================================================================================= communication
def all_sum(x: torch.Tensor) -> torch.Tensor:
    """`x` summed over every process (a new tensor); `x` itself with one process."""
    if world()[1] == 1:
        return x
    x = x.clone()
    dist.all_reduce(x)
    return x


def sync_gradients(params: Sequence[nn.Parameter]) -> None:
    """Sum each gradient over the processes (a missing one counts as zero): the global loss's gradient."""
    if world()[1] == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)


def broadcast_parameters(params: Sequence[nn.Parameter]) -> None:
    """Give every process rank 0's values of `params` (e.g. the randomly initialised LoRA adapters)."""
    if world()[1] == 1:
        return
    with torch.no_grad():
        for p in params:
            dist.broadcast(p.data, src=0)


def mean_over_processes(stats: dict[str, float], device) -> dict[str, float]:
    """Each logged figure averaged over the processes (equal shares), so every process logs, and adapts β to,
    the same numbers."""
    n = world()[1]
    if n == 1:
        return stats
    keys = sorted(stats)
    values = all_sum(torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=device)) / n
    return dict(zip(keys, values.tolist(), strict=True))
