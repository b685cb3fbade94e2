"""Samples per second of the synthetic data engine through a DataLoader, 1 and 2 workers.

    .venv/bin/python bench/bench_data.py [--seconds 8] [--batch 32]

Characters (64 × 64) and horizontal lines (32 px high), clean, rendered on the fly; the first
batch (font coverage, caches, worker start-up) is not timed.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader


def _collate(samples: list) -> int:
    return len(samples)


def bench(dataset: torch.utils.data.Dataset, workers: int, seconds: float, batch: int) -> float:
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers, collate_fn=_collate,
                        persistent_workers=workers > 0)
    it = iter(loader)
    next(it)  # warm-up
    n, t0 = 0, time.perf_counter()
    for got in it:
        n += got
        if time.perf_counter() - t0 > seconds:
            break
    return n / (time.perf_counter() - t0)


def main() -> None:
    from yomitori.data.chars import CharConfig, CharDataset
    from yomitori.data.lines import LineConfig, LineDataset

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, ds in (("chars", CharDataset(0, 10**7, CharConfig())),
                     ("lines", LineDataset(0, 10**7, LineConfig(height_px=32)))):
        for workers in (1, 2):
            rate = bench(ds, workers, args.seconds, args.batch)
            print(f"{name:6s} workers={workers}  {rate:8.1f} samples/s")


if __name__ == "__main__":
    main()
