"""Record a line recognizer's held-out evaluation and latency in its weights JSON (before shipping).

    yomitori eval W.safetensors --per-condition 200 --backend onnxruntime --json-out beam.json
    yomitori eval W.safetensors --per-condition 200 --backend onnxruntime --decoder greedy \
        --no-tesseract --json-out greedy.json
    .venv/bin/python bench/bench_line_latency.py --threads 1      # read the ms per line off its table
    .venv/bin/python scripts/record_line_eval.py W.safetensors beam.json greedy.json --stage 9 \
        --latency '{"onnxruntime": {"greedy": 4.6, "beam_lm": 6.8}, "torch": {"greedy": 8.6, "beam_lm": 12.3}}'

Writes the JSON beside ``W.safetensors`` atomically with an ``evaluation`` block (per condition:
beam + LM and greedy CER, line accuracy, Tesseract's CER and line accuracy from the same run)
and ``latency_ms_20_char_line``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from yomitori.atomic import atomic_write_text
from yomitori.models.io import meta_path, read_meta


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", type=Path)
    p.add_argument("beam", type=Path, help="--json-out of `yomitori eval` with the default decoder")
    p.add_argument("greedy", type=Path, help="--json-out of `yomitori eval --decoder greedy`")
    p.add_argument("--latency", default=None, help="JSON: runtime -> {greedy, beam_lm} ms per line")
    p.add_argument("--stage", type=int, default=None)
    args = p.parse_args()
    meta = read_meta(args.weights)
    beam = json.loads(args.beam.read_text("utf-8"))
    greedy = json.loads(args.greedy.read_text("utf-8"))
    conditions = {k: v for k, v in beam.items() if isinstance(v, dict) and "yomitori" in v}
    per = next(iter(conditions.values()))["yomitori"]["lines"]
    meta["evaluation"] = {
        "command": f"yomitori eval {args.weights} --per-condition {per} --backend onnxruntime",
        "data": f"{per} held-out lines per condition (evaluation fonts and documents), seeds "
                f"{beam['seed']}-{beam['seed'] + 3}",
        "decoder": {k: v for k, v in beam["decoder"].items() if k != "lm_path"},
        "conditions": {k: {"cer_beam_lm": v["yomitori"]["cer"], "line_accuracy_beam_lm": v["yomitori"]["line_accuracy"],
                           "cer_greedy": greedy[k]["yomitori"]["cer"], "chars": v["yomitori"]["chars"],
                           **({"tesseract_cer": v["tesseract"]["cer"],
                               "tesseract_line_accuracy": v["tesseract"]["line_accuracy"]} if "tesseract" in v else {})}
                       for k, v in conditions.items()},
    }
    if shutil.which("tesseract") and any("tesseract" in v for v in conditions.values()):
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split()[1:2]
        meta["evaluation"]["tesseract"] = f"{''.join(version)}, jpn --psm 7 (horizontal), jpn_vert --psm 5 (vertical)"
    if args.latency:
        meta["latency_ms_20_char_line"] = {"command": ".venv/bin/python bench/bench_line_latency.py --threads 1",
                                           "batch": 1, "threads": 1, **json.loads(args.latency)}
    if args.stage is not None:
        meta["stage"] = args.stage
    atomic_write_text(meta_path(args.weights), json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(meta["evaluation"]["conditions"], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
