"""``yomitori export``: a checkpoint or shipped weights → ONNX or OpenVINO IR, checked."""

from __future__ import annotations

import argparse
from pathlib import Path

from yomitori.errors import UserError

HELP = "export a checkpoint to ONNX or OpenVINO IR"
DESCRIPTION = """Export a trained model to ONNX (for ONNX Runtime) or OpenVINO IR (.xml + .bin), in fp32,
fp16 or INT8, with a .json of metadata beside it. The path is PyTorch -> ONNX -> OpenVINO
(openvino.convert_model + save_model). Batch is always dynamic; line recognizers also take any
width, layout networks any height and width.

Every export is checked: outputs of the exported graph vs PyTorch on the same random inputs
(max |diff| must be <= 1e-4 in fp32). INT8 is post-training quantization with NNCF, calibrated
on the task's training data (MNIST: 300 training images; lines: 300 synthetic lines), and prints
the change of the task's metric (MNIST: accuracy on all 10,000 test images; lines: CER on 300
held-out synthetic lines, --eval-limit to change).

Examples:
  yomitori export src/yomitori/weights/mnist_cnn.safetensors --format onnx
  yomitori export src/yomitori/weights/mnist_cnn.safetensors --format openvino --precision int8 -o exported/
  yomitori export runs/mnist/best.pt --format openvino --precision fp16"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help=".safetensors weights (with .json beside) or a .pt checkpoint")
    p.add_argument("--format", required=True, choices=("onnx", "openvino"))
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "int8"))
    p.add_argument("-o", "--output", default="exported", help="output folder (default: exported/)")
    p.add_argument("--name", help="file stem (default: the checkpoint's stem, plus -fp16/-int8)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--exporter", default="auto", choices=("auto", "torchscript", "dynamo"),
                   help="ONNX exporter; auto traces, and uses torch.export where tracing fails")
    p.add_argument("--calibration-samples", type=int, default=300, help="INT8 calibration inputs")
    p.add_argument("--eval-limit", type=int, help="evaluate INT8/fp16 on the first N test items only")
    p.add_argument("--no-eval", action="store_true", help="skip the accuracy comparison")
    p.add_argument("--threads", type=int, help="runtime threads for the checks")


def run(args: argparse.Namespace) -> int:
    from yomitori.cli.predict import load_any
    from yomitori.export import export_model

    src = Path(args.checkpoint)
    if not src.exists():
        raise UserError(f"{src}: no such checkpoint")
    if src.suffix not in (".safetensors", ".pt"):
        raise UserError(f"{src}: expected .safetensors weights or a .pt checkpoint")
    if args.calibration_samples < 1:
        raise UserError("--calibration-samples must be at least 1")
    model, meta = load_any(src)
    stem = args.name or (src.stem + ("" if args.precision == "fp32" else f"-{args.precision}"))
    result = export_model(model, meta, args.output, fmt=args.format, precision=args.precision,
                          stem=stem, opset=args.opset, exporter=args.exporter,
                          calibration_samples=args.calibration_samples, evaluate=not args.no_eval,
                          eval_limit=args.eval_limit, threads=args.threads)
    extra = " (+ .bin, .json)" if args.format == "openvino" else " (+ .json)"
    print(f"wrote {result.path}{extra}: {args.format} {args.precision}, exporter {result.exporter}")
    diffs = ", ".join(f"{shape}: {d:.2e}" for shape, d in result.parity.items())
    print(f"max |exported - PyTorch| on the same inputs: {diffs}")
    for metric, v in (result.accuracy or {}).items():
        print(f"{metric} (%): {v['reference']:.2f} (fp32 PyTorch) -> {v['candidate']:.2f} ({args.precision} "
              f"{args.format}), change {v['change']:+.2f} points")
    if result.accuracy is None and args.precision != "fp32" and not args.no_eval:
        print(f"accuracy change: no evaluator registered for task {meta.get('task')!r}")
    return 0
