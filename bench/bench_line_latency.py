"""Batch-1 latency of reading one 20-character line, end to end (prepare, network, CTC decoding),
per runtime and decoder, with the shipped line recognizer; ratios against eager PyTorch + greedy.

    .venv/bin/python bench/bench_line_latency.py [--lines 40] [--repeat 3] [--threads 1]

Lines: held-out fonts and documents (evaluation split), exactly 20 characters, half vertical,
clean, 32 px high after preparation. Each cell is the median over every line of the best of
``--repeat`` calls (after one warm-up call per line), so a busy neighbour on the machine moves it
less. The shipped character LM is used by ``beam+LM`` (the default decoder of ``read``).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runtimes", default="torch,onnxruntime,openvino")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from yomitori.data.lines import LineConfig, render_line
    from yomitori.pipeline.recognize import LINE_WEIGHTS, find_weights, make_recognizer
    from yomitori.runtime import get_backend

    cfg = LineConfig(height_px=32, split="eval", vertical_prob=0.5, min_chars=20, max_chars=20)
    samples = [render_line(31337, i, cfg) for i in range(args.lines)]
    path = find_weights(LINE_WEIGHTS)
    rows = []
    base = None
    for rt_name in args.runtimes.split(","):
        try:
            model = get_backend(rt_name).load(path, threads=args.threads)
        except Exception as exc:  # noqa: BLE001 - a runtime that is not installed is skipped
            print(f"{rt_name}: skipped ({exc})")
            continue
        for label, decoder in (("greedy", "greedy"), ("beam+LM", "beam")):
            rec = make_recognizer(model, decoder=decoder, lm="auto")
            times, correct = [], 0
            for s in samples:
                out = rec.recognize([s.image], [s.vertical])  # warm-up
                best = float("inf")
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    rec.recognize([s.image], [s.vertical])
                    best = min(best, time.perf_counter() - t0)
                times.append(best)
                correct += out[0].text == s.text
            ms = 1000 * statistics.median(times)
            base = base or ms
            rows.append((rt_name, label, ms, base / ms, correct))
            print(f"{rt_name} {label}: {ms:.1f} ms", flush=True)
    print(f"\n| runtime | decoder | ms per 20-character line (batch 1) | vs torch greedy | lines read exactly (of {args.lines}) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for rt_name, decoder, ms, ratio, correct in rows:
        print(f"| {rt_name} | {decoder} | {ms:.1f} | {ratio:.2f}x | {correct} |")


if __name__ == "__main__":
    main()
