"""``yomitori eval``: evaluate a checkpoint or shipped weights on its task's test data."""

from __future__ import annotations

import argparse
import json

HELP = "evaluate a checkpoint"
DESCRIPTION = """Evaluate a training checkpoint (.pt) or shipped weights (.safetensors + .json) on the
test split of the task it was trained on, and print the metrics as JSON.

For a line recognizer (task "lines") it reads held-out lines (held-out fonts and documents)
in four conditions — horizontal/vertical × clean/degraded — and reads the same images with
Tesseract (jpn, jpn_vert) in the same run as the peer; CER and whole-line accuracy apart.

Examples:
  yomitori eval src/yomitori/weights/mnist_cnn.safetensors --data-dir ../shared/data/mnist
  yomitori eval src/yomitori/weights/lines_crnn.safetensors --per-condition 200 --backend onnxruntime"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint from `yomitori train`, or .safetensors weights")
    p.add_argument("--data-dir", help="task data folder (MNIST: the four IDX files)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--limit-test", type=int)
    p.add_argument("--per-condition", type=int, default=100, help="lines: lines per condition (default 100)")
    p.add_argument("--no-tesseract", action="store_true", help="lines: skip the Tesseract peer")
    p.add_argument("--backend", default="torch", help="lines: runtime for the recognizer (torch, onnxruntime, "
                   "openvino, auto)")
    p.add_argument("--seed", type=int, default=777,
                   help="lines: seed of the rendered lines (default 777, the held-out evaluation; "
                        "tune on another)")
    p.add_argument("--json-out", help="lines: also write the results as JSON here")
    p.add_argument("--latin-font-prob", type=float, default=0.0,
                   help="lines: chance that a line's ASCII is drawn in a Latin face (held out: Latin Modern)")
    p.add_argument("--tex-prob", type=float, default=0.0,
                   help="lines: chance that a horizontal line carries a TeX logo, macro code or curly quotes")
    from yomitori.cli.read import add_decoder_arguments

    add_decoder_arguments(p)


def run(args: argparse.Namespace) -> int:
    from yomitori.cli.predict import load_any
    from yomitori.train.config import TrainConfig
    from yomitori.train.loop import DistInfo, evaluate, make_loaders, resolve_device
    from yomitori.train.tasks import create_task

    model, meta = load_any(args.checkpoint)
    if meta.get("task") == "lines":
        return _run_lines(args, model, meta)
    cfg = TrainConfig.from_dict(meta["config"]) if meta.get("config") else TrainConfig(task=meta["task"])
    cfg.data_dir = args.data_dir or cfg.data_dir
    cfg.limit_test, cfg.limit_train = args.limit_test, 1
    cfg.test_batch_size, cfg.download, cfg.num_workers = args.batch_size, False, 0
    options = dict(cfg.task_options or {})
    if cfg.task == "chars":  # the held-out streams are rendered; no need to load the training shards
        options.pop("shards", None)
    task = create_task(cfg.task, **options)
    device = resolve_device(args.device)
    train_ds, test_ds = task.datasets(cfg)
    _, loader, _ = make_loaders(task, cfg, train_ds, test_ds, DistInfo(), device)
    metrics, _ = evaluate(model.to(device), loader, task, device)
    print(json.dumps({"checkpoint": str(args.checkpoint), "task": cfg.task, **metrics}, indent=2))
    return 0


def _run_lines(args: argparse.Namespace, model, meta) -> int:
    from pathlib import Path

    from yomitori.atomic import atomic_write_text
    from yomitori.recognition.evaluate import evaluate_lines, format_table
    from yomitori.runtime import get_backend

    if str(args.checkpoint).endswith(".safetensors") and args.backend != "torch":
        loaded = get_backend(args.backend).load(args.checkpoint)
    else:
        from yomitori.runtime.torch_backend import TorchBackend

        loaded = TorchBackend().from_module(model, meta)
    from yomitori.cli.read import decoder_options
    from yomitori.pipeline.recognize import make_recognizer

    rec = make_recognizer(loaded, **decoder_options(args))
    results = evaluate_lines(rec, per_condition=args.per_condition, seed=args.seed,
                             tesseract=not args.no_tesseract, height=rec.height,
                             latin_font_prob=args.latin_font_prob, tex_prob=args.tex_prob)
    lines = {k: v for k, v in (("latin_font_prob", args.latin_font_prob), ("tex_prob", args.tex_prob)) if v}
    results = {"decoder": {**rec.settings, **({"lm_path": str(rec.lm_path)} if rec.lm_path else {})}, "seed": args.seed,
               **({"lines": lines} if lines else {}), **results}
    print(json.dumps({"decoder": results["decoder"], "seed": args.seed}, ensure_ascii=False))
    print(format_table(results))
    if args.json_out:
        atomic_write_text(Path(args.json_out), json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0
