"""PyTorch datasets over pure renderers: map-style and iterable, sharded by worker and rank.

Every renderer here is a pure function ``render(seed, index, cfg)``, so item ``i`` is the same
whichever process renders it. :class:`RenderedDataset` is map-style (use it with a
``DistributedSampler``); :class:`RenderedStream` is iterable and splits the index range
``[start, stop)`` over DDP ranks first and DataLoader workers second (index ``i`` goes to shard
``i % (world * workers)``), so no index is rendered twice and none is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info


def dist_rank_world() -> tuple[int, int]:
    """(rank, world size) from torch.distributed when initialised, else RANK/WORLD_SIZE, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def shard_indices(start: int, stop: int, shard: int, num_shards: int) -> range:
    """The indices of ``[start, stop)`` that belong to ``shard`` of ``num_shards``."""
    return range(start + shard, stop, num_shards)


class RenderedDataset(Dataset):
    """Item ``i`` is ``render(seed, i, cfg)`` passed through ``transform`` (default: as is)."""

    def __init__(self, render: Callable[[int, int, Any], Any], cfg: Any, seed: int, length: int,
                 transform: Callable[[Any], Any] | None = None) -> None:
        self.render, self.cfg, self.seed, self.length = render, cfg, int(seed), int(length)
        self.transform = transform

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self.length:
            raise IndexError(index)
        sample = self.render(self.seed, int(index), self.cfg)
        return self.transform(sample) if self.transform else sample


class RenderedStream(IterableDataset):
    """Indices ``[start, stop)`` rendered once each across all ranks and workers."""

    def __init__(self, render: Callable[[int, int, Any], Any], cfg: Any, seed: int,
                 stop: int, start: int = 0, transform: Callable[[Any], Any] | None = None,
                 rank: int | None = None, world_size: int | None = None) -> None:
        self.render, self.cfg, self.seed = render, cfg, int(seed)
        self.start, self.stop = int(start), int(stop)
        self.transform = transform
        self.rank, self.world_size = rank, world_size

    def shard(self) -> range:
        """The indices this process (rank × worker) renders."""
        rank, world = dist_rank_world()
        rank = self.rank if self.rank is not None else rank
        world = self.world_size if self.world_size is not None else world
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        return shard_indices(self.start, self.stop, rank * nw + wid, world * nw)

    def __iter__(self) -> Iterator[Any]:
        for i in self.shard():
            sample = self.render(self.seed, i, self.cfg)
            yield self.transform(sample) if self.transform else sample


def line_to_tensors(sample: Any) -> dict[str, Any]:
    """A LineSample as a dict a default collate can batch per item (image as float tensor)."""
    return {
        "image": torch.from_numpy(sample.image).float().div_(255.0).unsqueeze(0),  # (1, H, W)
        "text": sample.text,
        "vertical": sample.vertical,
    }
