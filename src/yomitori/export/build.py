"""``export_model``: PyTorch → ONNX → (fp16 | int8) → ONNX file or OpenVINO IR, checked.

Every export is checked against PyTorch on random inputs at the example size and at a second
size along the family's dynamic axes (batch 3). fp32 must agree within ``FP32_ATOL`` or the
export fails; fp16 and int8 differences are reported, and INT8 also reports the change of the
task's metric (MNIST: test accuracy) when an evaluator is registered for the task.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from yomitori.atomic import atomic_write_bytes, atomic_write_text
from yomitori.errors import UserError
from yomitori.export.onnx import (
    DEFAULT_OPSET,
    EXPORTERS,
    ExportError,
    convert_onnx_fp16,
    onnx_bytes,
)
from yomitori.export.parity import compare, parity_inputs, run_onnx_bytes, torch_outputs
from yomitori.export.quantize import Calibration, accuracy_change, calibration_for
from yomitori.export.spec import example_shape, spec_for

FORMATS = ("onnx", "openvino")
PRECISIONS = ("fp32", "fp16", "int8")
SUFFIX = {"onnx": ".onnx", "openvino": ".xml"}
RUNTIME = {"onnx": "onnxruntime", "openvino": "openvino"}
FP32_ATOL = 1e-4


@dataclass
class ExportResult:
    path: Path  # the .onnx or .xml (an .xml has its .bin beside it); metadata in .json beside
    format: str
    precision: str
    exporter: str
    parity: dict[str, float] = field(default_factory=dict)  # check name -> max |exported - torch|
    accuracy: dict[str, Any] | None = None  # metric -> {reference, candidate, change}
    meta: dict[str, Any] = field(default_factory=dict)


def _defaults_for(model: nn.Module):  # noqa: ANN202 - batch -> zero-filled optional inputs
    optional = [i for i in spec_for(model).inputs[1:]]
    return lambda n: {i.name: np.zeros(n, dtype=i.dtype) for i in optional}


def _traced_graph_agrees(model: nn.Module, data: bytes) -> bool:
    """Does the graph follow the dynamic axes? (Tracing can bake a size into a reshape.)"""
    inputs = parity_inputs(model, vary=True)
    try:
        got = run_onnx_bytes(data, {k: v.numpy() for k, v in inputs.items()})
    except Exception:  # noqa: BLE001 - any runtime failure means the graph is wrong
        return False
    if got is None:  # no runtime installed to check with
        return True
    return compare(torch_outputs(model, inputs), got) <= 1e-3


def export_onnx_checked(model: nn.Module, opset: int, exporter: str) -> tuple[bytes, str]:
    """fp32 ONNX bytes; ``auto`` falls back from tracing to dynamo when the trace is wrong."""
    if exporter not in EXPORTERS:
        raise UserError(f"exporter must be one of {', '.join(EXPORTERS)}, not {exporter!r}")
    if exporter != "auto":
        return onnx_bytes(model, opset, exporter), exporter
    try:
        data = onnx_bytes(model, opset, "torchscript")
        if _traced_graph_agrees(model, data):
            return data, "torchscript"
    except torch.onnx.errors.OnnxExporterError:  # an op the tracer cannot export
        pass
    data = onnx_bytes(model, opset, "dynamo")
    if not _traced_graph_agrees(model, data):
        raise ExportError(f"{getattr(model, 'yomitori_name', 'model')}: neither exporter gives a graph "
                          "that matches PyTorch at a second input size")
    return data, "dynamo"


def _save_openvino(ov_model: Any, xml: Path, fp16: bool) -> None:
    import openvino as ov

    tmp = xml.with_name(f".{xml.stem}.{os.getpid()}.tmp.xml")
    # save_model compresses weights to fp16 by default: fp32 must say so.
    ov.save_model(ov_model, str(tmp), compress_to_fp16=fp16)
    os.replace(tmp.with_suffix(".bin"), xml.with_suffix(".bin"))
    os.replace(tmp, xml)


def _io_meta(model: nn.Module) -> list[dict[str, Any]]:
    shape = example_shape(model)
    out = []
    for i, inp in enumerate(spec_for(model).inputs):
        dims = list(shape) if i == 0 else [1]
        out.append({"name": inp.name, "dtype": inp.dtype, "optional": inp.optional,
                    "shape": [None if a in inp.dynamic else d for a, d in enumerate(dims)]})
    return out


def export_model(model: nn.Module, meta: dict[str, Any], out_dir: str | Path, *, fmt: str,
                 precision: str = "fp32", stem: str | None = None, opset: int = DEFAULT_OPSET,
                 exporter: str = "auto", calibration: Calibration | None = None,
                 calibration_samples: int = 300, check: bool = True, evaluate: bool = True,
                 eval_limit: int | None = None, threads: int | None = None) -> ExportResult:
    """Export ``model`` to ``out_dir/<stem>.onnx`` or ``.xml``/``.bin``, plus ``<stem>.json``."""
    if fmt not in FORMATS:
        raise UserError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if fmt == "openvino":
        try:
            import openvino as ov
        except ImportError:
            raise UserError("OpenVINO export needs openvino: pip install 'yomitori[openvino]'") from None
    model = model.eval()
    # Self-describing exports: the registry name and constructor arguments, whatever the source.
    meta = {"model": getattr(model, "yomitori_name", None),
            "model_kwargs": getattr(model, "yomitori_config", {}), **meta}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or getattr(model, "yomitori_name", "model")
    path = out_dir / f"{stem}{SUFFIX[fmt]}"
    data, used = export_onnx_checked(model, opset, exporter)
    names = [i.name for i in spec_for(model).inputs]
    if precision == "int8":
        calibration = calibration if calibration is not None else calibration_for(meta, calibration_samples)

    if fmt == "onnx":
        if precision == "fp16":
            data = convert_onnx_fp16(data)
        elif precision == "int8":
            from yomitori.export.quantize import quantize_onnx

            data = quantize_onnx(data, calibration, names, calibration_samples, _defaults_for(model))
        atomic_write_bytes(path, data)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = Path(tmp) / "model.onnx"
            onnx_path.write_bytes(data)
            ov_model = ov.convert_model(str(onnx_path))
        if precision == "int8":
            from yomitori.export.quantize import quantize_openvino

            ov_model = quantize_openvino(ov_model, calibration, names, calibration_samples,
                                         _defaults_for(model))
        _save_openvino(ov_model, path, fp16=precision == "fp16")

    export_info = {"format": fmt, "precision": precision, "opset": opset, "exporter": used,
                   "inputs": _io_meta(model), "outputs": list(_output_names(model)),
                   "torch": torch.__version__}
    full_meta = {**meta, "export": export_info}
    atomic_write_text(path.with_suffix(".json"), json.dumps(full_meta, ensure_ascii=False, indent=2) + "\n")
    result = ExportResult(path, fmt, precision, used, meta=full_meta)
    if check:
        _check(model, result, threads, evaluate, eval_limit)
        full_meta["parity"] = result.parity
        if result.accuracy is not None:
            full_meta["accuracy_change"] = result.accuracy
        atomic_write_text(path.with_suffix(".json"), json.dumps(full_meta, ensure_ascii=False, indent=2) + "\n")
    return result


def _output_names(model: nn.Module) -> tuple[str, ...]:
    from yomitori.export.spec import forward_args, make_inputs, output_names_for

    args, kwargs = forward_args(model, make_inputs(model, batch=1))
    with torch.no_grad():
        return output_names_for(model, model(*args, **kwargs))


def _check(model: nn.Module, result: ExportResult, threads: int | None, evaluate: bool,
           eval_limit: int | None) -> None:
    from yomitori.runtime.base import get_backend

    runtime = get_backend(RUNTIME[result.format]).load(result.path, precision=result.precision,
                                                       threads=threads)
    for vary in (False, True):
        inputs = parity_inputs(model, vary=vary)
        shape = "x".join(str(d) for d in next(iter(inputs.values())).shape)
        feed = {k: v.numpy() for k, v in inputs.items()}
        first = feed.pop(runtime.input_names[0])
        got = runtime(first, **feed)
        result.parity[shape] = compare(torch_outputs(model, inputs), got)
    worst = max(result.parity.values())
    if result.precision == "fp32" and worst > FP32_ATOL:
        raise ExportError(f"{result.path}: exported fp32 outputs differ from PyTorch by {worst:.3g} "
                          f"(> {FP32_ATOL})")
    if evaluate and result.precision != "fp32":
        from yomitori.runtime.torch_backend import TorchBackend

        reference = TorchBackend().from_module(model, result.meta)
        result.accuracy = accuracy_change(result.meta.get("task"), _first(reference), _first(runtime),
                                          result.meta, eval_limit)


def _first(model: Any):  # noqa: ANN202 - predict: (x, **extra) -> the first output
    def predict(x: np.ndarray, **extra: np.ndarray) -> np.ndarray:
        out = model(x, **extra)
        return out[0] if isinstance(out, tuple) else out

    return predict
