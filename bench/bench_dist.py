"""Training throughput of 1 process vs N processes (one thread each) on this machine, in one run.

    .venv/bin/python bench/bench_dist.py                      # cnn, 1 vs 2 processes, batch 64 each
    .venv/bin/python bench/bench_dist.py --nproc 4 --model cnn_tiny --samples 8192

Each configuration is a real ``yomitori train`` run (``--nproc N`` for the multi-process one: DDP
over gloo on 127.0.0.1). Throughput is read from the run's history.json: the best epoch after
the first (a warm-up), so process start-up, data loading and evaluation are not counted and a
burst of other work on a shared machine is damped; the load average is printed with the table.
Weak scaling: the per-process batch is fixed, so N processes take N× larger global steps;
efficiency = samples/s(N) / (N × samples/s(1)). Uses the real MNIST files when present
(../shared/data/mnist), otherwise generated digits of the same shape.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GPU_ROW = "| 1 GPU: MNIST cnn, 20 epochs, batch 64 | 64 | — | time: not measured (no GPU on this machine) |"


def synthetic_mnist(folder: Path, n_train: int, n_test: int) -> Path:
    from yomitori.data.mnist import write_idx

    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 255).astype(np.uint8)
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(write_idx(images), 1))
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(write_idx(labels))
    return folder


def run_one(nproc: int, args: argparse.Namespace, data_dir: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "yomitori.cli", "train", "--task", "mnist", "--model", args.model,
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--limit-train", str(args.samples),
           "--limit-test", "256", "--data-dir", str(data_dir), "--out", str(out), "--logger", "none",
           "--progress", "off", "--threads", "1", "--device", "cpu", "--nproc", str(nproc)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    timed = json.loads((out / "history.json").read_text())[1:]
    return {"nproc": nproc, "samples_per_s": max(h["samples_per_s"] for h in timed)}  # summed over ranks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2, help="processes for the scaled run (default 2)")
    p.add_argument("--model", default="cnn")
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--samples", type=int, default=6144, help="training samples per epoch")
    p.add_argument("--epochs", type=int, default=3, help="the best after the first is reported")
    p.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (the first is a warm-up)")
    with tempfile.TemporaryDirectory(prefix="bench_dist_") as tmp:
        tmp_path = Path(tmp)
        data_dir = args.data_dir
        source = "MNIST"
        if not (data_dir / "train-images-idx3-ubyte.gz").exists():
            data_dir, source = synthetic_mnist(tmp_path, args.samples, 256), "generated digits"
        results = [run_one(n, args, data_dir, tmp_path / f"p{n}") for n in (1, args.nproc)]
    base = results[0]["samples_per_s"]
    print(f"model {args.model}, {source}, {args.samples} samples/epoch, batch {args.batch_size} per process, "
          f"1 thread per process, {os.cpu_count()} CPUs, best of epochs 2-{args.epochs}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print("| processes | global batch | samples/s | scaling efficiency |")
    print("|---|---|---|---|")
    for r in results:
        eff = r["samples_per_s"] / (r["nproc"] * base)
        kind = "1 process" if r["nproc"] == 1 else f"{r['nproc']} processes (DDP, gloo)"
        print(f"| {kind} | {args.batch_size * r['nproc']} | {r['samples_per_s']:.0f} | {eff:.0%} |")
    print(GPU_ROW)
    return 0


if __name__ == "__main__":
    sys.exit(main())
