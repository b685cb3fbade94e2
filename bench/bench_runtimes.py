"""Latency and throughput of every shipped model family on every installed runtime and precision.

    .venv/bin/python bench/bench_runtimes.py                  # the full table (a few minutes)
    .venv/bin/python bench/bench_runtimes.py --quick          # fewer runs, for a smoke test
    .venv/bin/python bench/bench_runtimes.py --models lines --runs 100

Latency: batch 1, median of ``--runs`` calls (>= 50) after warm-up. Throughput: items/s at a
large batch (per model: 256 digits or characters, 32 lines, 4 pages). Every configuration is
timed in ``--rounds`` interleaved rounds and each cell is the median over rounds. Ratios are
against eager PyTorch fp32 with the same thread count. Models use the shipped weights when
present, else random weights of the shipped architecture (speed does not depend on the values;
INT8 is then calibrated on random inputs, which is fine for speed and meaningless for accuracy:
accuracy changes come from ``yomitori export --precision int8``).

``--read FILES...`` adds end-to-end pages/s of ``read`` (layout + recognition, every page of
each PDF or image) per installed runtime, with the shipped layout and line weights.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "yomitori" / "weights"


@dataclass
class Case:
    key: str  # mnist | chars | lines | layout
    title: str
    build: Callable[[], tuple[torch.nn.Module, dict]]
    shape: tuple[int, ...]  # one input, batch 1 (0: the model's own size on that axis)
    batch: int  # throughput batch


def _shipped_or(path: Path, name: str, **kwargs) -> tuple[torch.nn.Module, dict]:
    from yomitori.models import create_model
    from yomitori.models.io import load_weights

    if path.exists():
        return load_weights(path)
    torch.manual_seed(0)
    return create_model(name, **kwargs).eval(), {"task": "bench", "random_weights": True}


def cases(args: argparse.Namespace) -> list[Case]:
    from yomitori.models import list_models

    out = [
        Case("mnist", "MNIST CNN (cnn, 28 px)", lambda: _shipped_or(WEIGHTS / "mnist_cnn.safetensors", "cnn"),
             (1, 1, 28, 28), 256),
        Case("chars", f"characters ({args.char_model}, {args.char_size} px, {args.char_classes} classes)",
             lambda: _shipped_or(WEIGHTS / "chars.safetensors", args.char_model,
                                 num_classes=args.char_classes, input_size=args.char_size),
             (1, 1, args.char_size, args.char_size), 256),
    ]
    crnn = [e.name for e in list_models(family="crnn") if not e.tiny]
    if crnn:
        name = args.line_model if args.line_model in crnn else crnn[0]
        out.append(Case("lines", f"line recognizer ({name}, width {args.line_width})",
                        lambda: _shipped_or(WEIGHTS / "lines.safetensors", name, num_classes=args.line_classes),
                        (1, 1, 0, args.line_width), 32))
    seg = [e.name for e in list_models(family="segmentation") if not e.tiny]
    if seg:
        out.append(Case("layout", f"layout ({seg[0]}, {args.page_size} px)",
                        lambda: _shipped_or(WEIGHTS / "layout.safetensors", seg[0]),
                        (1, 0, args.page_size, args.page_size), 4))
    else:
        print("layout: no segmentation model registered yet; skipped", file=sys.stderr)
    return [c for c in out if not args.models or c.key in args.models]


def _calibration(case: Case, meta: dict, n: int):  # noqa: ANN202
    if meta.get("task") == "mnist":
        return None  # the registered MNIST calibration: real training images
    rng = np.random.default_rng(0)
    return [rng.standard_normal(case.shape).astype(np.float32) for _ in range(n)]


def time_latency(fn: Callable[[], object], runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def time_throughput(fn: Callable[[], object], batch: int, repeats: int = 3) -> float:
    fn()
    best = min(_timed(fn) for _ in range(repeats))
    return batch / best


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def configs(precisions: list[str]) -> list[tuple[str, str, dict]]:
    """(runtime, precision, load options) for every installed runtime."""
    from yomitori.runtime import available_backends

    have = available_backends()
    out: list[tuple[str, str, dict]] = [("torch", "fp32", {})]
    if "onnxruntime" in have:
        out += [("onnxruntime", p, {}) for p in precisions]
    if "openvino" in have:
        out += [("openvino", p, {}) for p in precisions]
        if "fp32" in precisions:
            out.append(("openvino", "fp32", {"inference_precision": "bf16"}))
    return out


def bench_model(case: Case, args: argparse.Namespace, tmp: Path) -> list[dict]:
    """Load every (runtime, precision), then time them in ``--rounds`` interleaved rounds.

    Interleaving spreads any background load over all configurations alike; each cell is the
    median over rounds (latency: of per-round medians of ``--runs`` calls).
    """
    from yomitori.export.spec import example_shape

    model, meta = case.build()
    own = example_shape(model)
    case.shape = tuple(d or own[i] for i, d in enumerate(case.shape))
    x1 = np.random.default_rng(0).standard_normal(case.shape).astype(np.float32)
    xb = np.random.default_rng(1).standard_normal((case.batch, *case.shape[1:])).astype(np.float32)
    loaded = []
    reference = None
    for runtime, precision, options in configs(args.precisions):
        label = precision + (" (bf16 compute)" if options.get("inference_precision") == "bf16" else "")
        try:
            with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars
                m = _load(case, model, meta, runtime, precision, options, args, tmp)
            out = m(x1)
            out = np.asarray(out[0] if isinstance(out, tuple) else out)
        except Exception as exc:  # noqa: BLE001 - one failing runtime must not end the table
            print(f"{case.key} {runtime} {label}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        reference = out if reference is None else reference
        loaded.append((runtime, label, m, float(np.abs(out - reference).max())))
    timings: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(loaded))}
    for _ in range(args.rounds):
        for i, (_, _, m, _) in enumerate(loaded):
            timings[i].append((time_latency(lambda m=m: m(x1), args.runs),
                               time_throughput(lambda m=m: m(xb), case.batch, repeats=1)))
    rows = []
    for i, (runtime, label, _, diff) in enumerate(loaded):
        latency = statistics.median(t[0] for t in timings[i])
        throughput = statistics.median(t[1] for t in timings[i])
        rows.append({"model": case.title, "runtime": runtime, "precision": label,
                     "latency_ms": latency, "throughput": throughput, "diff": diff})
        print(f"  {case.key:<6} {runtime:<12} {label:<20} {latency:8.2f} ms  {throughput:9.1f}/s  "
              f"max|diff| {diff:.1e}", file=sys.stderr, flush=True)
    base = next(r for r in rows if r["runtime"] == "torch")
    for r in rows:
        r["latency_x"] = base["latency_ms"] / r["latency_ms"]
        r["throughput_x"] = r["throughput"] / base["throughput"]
    return rows


def _load(case: Case, model: torch.nn.Module, meta: dict, runtime: str, precision: str, options: dict,
          args: argparse.Namespace, tmp: Path):  # noqa: ANN202 - an InferenceModel
    from yomitori.export import export_model
    from yomitori.runtime import get_backend

    if runtime == "torch":
        return get_backend("torch").from_module(model, meta, threads=args.threads)
    fmt = "onnx" if runtime == "onnxruntime" else "openvino"
    path = tmp / case.key / fmt / precision / f"model{'.onnx' if fmt == 'onnx' else '.xml'}"
    if not path.exists():
        export_model(model, meta, path.parent, fmt=fmt, precision=precision, stem="model",
                     calibration=_calibration(case, meta, args.calibration_samples),
                     calibration_samples=args.calibration_samples, evaluate=False,
                     check=precision == "fp32", threads=args.threads)
    return get_backend(runtime).load(path, precision=precision, threads=args.threads, **options)


def bench_read(pages: list[str], runtimes: list[str], threads: int | None) -> list[dict]:
    """Pages/s of the whole ``read`` pipeline per runtime (the shipped layout + line models)."""
    try:
        from yomitori.pipeline.engine import ModelEngine
        from yomitori.pipeline.run import read
    except ImportError as exc:
        print(f"read: the reading pipeline is not available ({exc}); skipped", file=sys.stderr)
        return []
    rows = []
    for runtime in runtimes:
        engine = ModelEngine(runtime, threads=threads)
        try:
            read(pages[0], engine=engine, backend=runtime, pages=[1])  # warm-up: export cache, compile
        except Exception as exc:  # noqa: BLE001 - e.g. shipped weights not there yet
            print(f"read on {runtime}: {type(exc).__name__}: {exc}; skipped", file=sys.stderr)
            continue
        t = time.perf_counter()
        count = sum(len(read(p, engine=engine, backend=runtime).pages) for p in pages)
        rows.append({"runtime": runtime, "pages_per_s": count / (time.perf_counter() - t)})
    return rows


def print_table(rows: list[dict]) -> None:
    print("| model | runtime | precision | latency b=1 (ms) | vs torch | throughput (items/s) | vs torch "
          "| max abs diff vs torch |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['runtime']} | {r['precision']} | {r['latency_ms']:.2f} | "
              f"{r['latency_x']:.2f}x | {r['throughput']:.0f} | {r['throughput_x']:.2f}x | {r['diff']:.1e} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", choices=("mnist", "chars", "lines", "layout"))
    p.add_argument("--precisions", nargs="*", default=["fp32", "fp16", "int8"])
    p.add_argument("--runs", type=int, default=50, help="batch-1 calls timed (median; >= 50 for the table)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per model (median over rounds)")
    p.add_argument("--threads", type=int, default=None, help="threads for every runtime (default: all cores)")
    p.add_argument("--quick", action="store_true", help="10 runs, fp32 and int8 only")
    p.add_argument("--calibration-samples", type=int, default=64)
    p.add_argument("--char-model", default="resnet18")
    p.add_argument("--char-size", type=int, default=48)
    p.add_argument("--char-classes", type=int, default=3000)
    p.add_argument("--line-model", default="crnn_resnet_small")
    p.add_argument("--line-width", type=int, default=512)
    p.add_argument("--line-classes", type=int, default=7000)
    p.add_argument("--page-size", type=int, default=512)
    p.add_argument("--read", nargs="*", metavar="PAGE", help="also time `read` end to end on these pages")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.rounds, args.precisions = 10, 1, [q for q in args.precisions if q != "fp16"]
    if args.threads:
        torch.set_num_threads(args.threads)
    from yomitori.runtime import available_backends, default_backend

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, runtimes {available_backends()}, "
          f"read's default: {default_backend()}", file=sys.stderr)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases(args):
            rows += bench_model(case, args, Path(tmp))
    print_table(rows)
    if args.read:
        for r in bench_read(args.read, available_backends(), args.threads):
            print(f"read: {r['runtime']}: {r['pages_per_s']:.2f} pages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
