"""A seeded, resumable, rank-aware sampler.

The order of epoch ``e`` is a permutation drawn from ``torch.Generator`` seeded with
``(seed, e)``, so it does not depend on what ran before: a run resumed at epoch ``e`` (or at
step ``k`` inside it, via ``start``) sees exactly the batches an uninterrupted run would.

Training (``pad=True``): the permutation is padded by wrapping so every rank gets the same
number of samples (DDP needs equal step counts); rank ``r`` takes ``perm[r::world]``.
Evaluation (``pad=False``, ``shuffle=False``): rank ``r`` takes ``range(r, n, world)``, so every
sample is counted exactly once across ranks.

Why not ``DistributedSampler``: it shards the same way (seeded permutation, ``perm[r::W]``,
``set_epoch``), but it cannot start inside an epoch (exact mid-epoch resume after an elastic
restart) and it always pads, which would count some test samples twice. Because rank ``r``
takes ``perm[r::W]``, the ranks' k-th batches of ``b`` together are the single process's k-th
batch of ``W × b``: the same global batch trains the same way on any world size.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 pad: bool = True, lengths: list[int] | None = None, batch_size: int | None = None,
                 bucket_batches: int = 50) -> None:
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.lengths, self.batch_size, self.bucket_batches = lengths, batch_size, bucket_batches
        self.rank, self.world_size, self.pad = rank, world_size, pad
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's order; skip the first ``start`` samples of this rank's share."""
        self.epoch, self.start = epoch, start

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
            if self.lengths is not None and self.batch_size:
                order = self._bucket(order, g)
        else:
            order = list(range(self.n))
        if self.pad and self.world_size > 1:
            total = -(-self.n // self.world_size) * self.world_size
            order = (order * (total // max(self.n, 1) + 1))[:total]
        return order[self.rank :: self.world_size]

    def _bucket(self, order: list[int], g: torch.Generator) -> list[int]:
        bs = self.batch_size * max(self.world_size, 1)  # ranks take interleaved shares of a global batch
        chunk = bs * self.bucket_batches
        out: list[int] = []
        for a in range(0, len(order), chunk):
            part = sorted(order[a : a + chunk], key=lambda i: self.lengths[i])
            batches = [part[b : b + bs] for b in range(0, len(part), bs)]
            for k in torch.randperm(len(batches), generator=g).tolist():
                out.extend(batches[k])
        return out

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        if self.pad and self.world_size > 1:
            share = -(-self.n // self.world_size)
        else:
            share = len(range(self.rank, self.n, self.world_size))
        return max(share - self.start, 0)
