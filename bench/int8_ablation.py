"""Which part of the line recognizer does not survive INT8? One NNCF setting at a time.

    .venv/bin/python bench/int8_ablation.py src/yomitori/weights/lines_crnn.safetensors \\
        --limit 100 --variants default,nocls,nomatmul,mixed,nobc,noconvall,nolstm,mixed_nolstm

Exports the model to OpenVINO fp32, quantizes it with NNCF post-training quantization (300
synthetic training-split lines to calibrate) under each variant, and prints the CER on held-out
lines (the `lines` evaluator of ``yomitori.export.quantize``) next to fp32, all on one thread.
Variants (combine with ``_``): ``default`` (NNCF defaults, everything quantized), ``nocls`` (the
classifier MatMul fp32), ``nomatmul`` (every MatMul fp32), ``noconv1`` (first convolution fp32),
``noconvall`` (every convolution fp32), ``nolstm`` (LSTMSequence fp32), ``mixed`` (mixed preset:
asymmetric activations), ``nobc`` (no fast bias correction).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--limit", type=int, default=100, help="held-out lines to score")
    ap.add_argument("--variants", default="default,nolstm")
    ap.add_argument("--calibration", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(1)
    import nncf
    import openvino as ov

    from yomitori.export.build import _defaults_for, export_onnx_checked
    from yomitori.export.onnx import DEFAULT_OPSET
    from yomitori.export.quantize import _as_feed, line_calibration, line_cer
    from yomitori.export.spec import spec_for
    from yomitori.models.io import load_weights

    model, meta = load_weights(args.weights)
    model.eval()
    data, _ = export_onnx_checked(model, DEFAULT_OPSET, "auto")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        base = ov.convert_model(str(path))
    names = [i.name for i in spec_for(model).inputs]
    core = ov.Core()
    core.set_property("CPU", {"INFERENCE_NUM_THREADS": 1})

    def predictor(m):  # noqa: ANN001, ANN202
        compiled = core.compile_model(m, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        return lambda x, **extra: compiled({names[0]: x, **extra})[0]

    ops: dict[str, list[str]] = {}
    for op in base.get_ordered_ops():
        ops.setdefault(op.get_type_name(), []).append(op.get_friendly_name())
    calibration = list(line_calibration(meta, args.calibration))
    dataset = nncf.Dataset(calibration, lambda it: _as_feed(it, names, _defaults_for(model)))
    print(f"| variant | CER % ({args.limit} held-out lines) | seconds |\n| --- | ---: | ---: |")
    t = time.time()
    print(f"| fp32 | {line_cer(predictor(base), meta, args.limit)['cer']:.2f} | {time.time() - t:.0f} |", flush=True)
    for v in args.variants.split(","):
        kw, names_ignored, types = {}, [], []
        if "mixed" in v:
            kw["preset"] = nncf.QuantizationPreset.MIXED
        if "nocls" in v:
            names_ignored += ops.get("MatMul", [])[-1:]
        if "nomatmul" in v:
            types.append("MatMul")
        if "noconv1" in v:
            names_ignored += ops.get("Convolution", [])[:1]
        if "noconvall" in v:
            types.append("Convolution")
        if "nolstm" in v:
            types.append("LSTMSequence")
        if "nobc" in v:
            kw["fast_bias_correction"] = False
        # an empty scope: NNCF's defaults (the exporter's own recurrent-layer scope is not used here)
        kw["ignored_scope"] = nncf.IgnoredScope(names=names_ignored, types=types, validate=False)
        t = time.time()
        quantized = nncf.quantize(base.clone(), dataset, subset_size=len(calibration), **kw)
        cer = line_cer(predictor(quantized), meta, args.limit)["cer"]
        print(f"| {v} | {cer:.2f} | {time.time() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
