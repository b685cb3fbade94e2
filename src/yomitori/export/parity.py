"""Parity: exported graph vs PyTorch on the same inputs (max absolute difference).

    inputs = parity_inputs(model, vary=True)           # batch 3, second size on dynamic axes
    diff = compare(torch_outputs(model, inputs), runtime_model(inputs["image"]))
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from yomitori.export.spec import forward_args, make_inputs


def parity_inputs(model: nn.Module, vary: bool = False, batch: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random inputs; ``vary`` uses the spec's second size on the dynamic spatial axes."""
    return make_inputs(model, batch=batch, vary=vary, generator=torch.Generator().manual_seed(seed))


def torch_outputs(model: nn.Module, inputs: dict[str, torch.Tensor]) -> list[np.ndarray]:
    args, kwargs = forward_args(model, inputs)
    with torch.inference_mode():
        out = model.eval()(*args, **kwargs)
    if isinstance(out, dict):
        out = tuple(out.values())
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.float().cpu().numpy() for o in outs]


def compare(reference: Sequence[np.ndarray], got: np.ndarray | Sequence[np.ndarray]) -> float:
    """Max |got - reference| over all outputs; inf when the shapes or the output count differ."""
    got_list = [got] if isinstance(got, np.ndarray) else list(got)
    if len(got_list) != len(reference):
        return float("inf")
    worst = 0.0
    for r, g in zip(reference, got_list, strict=True):
        if r.shape != g.shape:
            return float("inf")
        if r.size:
            worst = max(worst, float(np.max(np.abs(r.astype(np.float64) - g.astype(np.float64)))))
    return worst


def run_onnx_bytes(data: bytes, feed: dict[str, np.ndarray]) -> list[np.ndarray] | None:
    """Run an in-memory ONNX graph with ONNX Runtime, else OpenVINO (f32); None if neither."""
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        opts = ort.SessionOptions()
        opts.log_severity_level = 4  # a failing check is an expected outcome, not a log line
        session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        return list(session.run(None, feed))
    try:
        import openvino as ov
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(feed)
    return [np.array(result[o]) for o in compiled.outputs]
