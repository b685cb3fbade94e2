"""PyTorch → ONNX, with the family's dynamic axes, and ONNX fp32 → fp16.

Two exporters: the TorchScript tracer (``torchscript``; quick, no extra package, handles CNNs
and LSTMs with dynamic width) and ``torch.export`` (``dynamo``; needs ``onnxscript``; needed for
attention heads, where tracing bakes the sequence length into reshapes). ``auto`` traces first
and re-exports with ``dynamo`` only when the traced graph fails a check at a second input size.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from yomitori.errors import UserError
from yomitori.export.spec import forward_args, make_inputs, output_names_for, spec_for

DEFAULT_OPSET = 17
EXPORTERS = ("auto", "torchscript", "dynamo")
RECURRENT_OPS = ("LSTM", "GRU", "RNN")


class ExportError(UserError):
    """The exporter failed or produced a graph that disagrees with PyTorch."""


class _Positional(nn.Module):
    """Calls ``model(x, **named)`` from positional inputs; dict/list outputs become a tuple."""

    def __init__(self, model: nn.Module, params: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.params = model, params

    def forward(self, *inputs: torch.Tensor) -> Any:
        out = self.model(inputs[0], **dict(zip(self.params, inputs[1:], strict=True)))
        if isinstance(out, dict):
            return tuple(out.values())
        return tuple(out) if isinstance(out, list) else out


def onnx_bytes(model: nn.Module, opset: int = DEFAULT_OPSET, exporter: str = "torchscript") -> bytes:
    """Export ``model`` (eval mode) to ONNX bytes with the family's input/output names and axes."""
    if exporter not in ("torchscript", "dynamo"):
        raise ValueError(f"exporter must be torchscript or dynamo, not {exporter!r}")
    model = model.eval()
    spec = spec_for(model)
    inputs = make_inputs(model, batch=2, generator=torch.Generator().manual_seed(0))
    args, kwargs = forward_args(model, inputs)
    with torch.no_grad():
        sample = model(*args, **kwargs)
    out_names = output_names_for(model, sample)
    if isinstance(sample, dict):
        outs = tuple(sample.values())
    else:
        outs = tuple(sample) if isinstance(sample, (tuple, list)) else (sample,)
    ranks = [o.dim() for o in outs]
    dynamic_axes: dict[str, dict[int, str]] = {i.name: dict(i.dynamic) for i in spec.inputs}
    for name, rank in zip(out_names, ranks, strict=True):
        dynamic_axes[name] = spec.output_dynamic(rank)
    wrapper = _Positional(model, tuple(i.param or i.name for i in spec.inputs[1:])).eval()
    buf = io.BytesIO()
    # Not under no_grad: inference mode makes nn.TransformerEncoderLayer take its fused fast
    # path, an op the tracer cannot export.
    with warnings.catch_warnings():
        # The tracer warns about its deprecation and about Python-level shape branches (fixed
        # at the example size on purpose: only the spec's axes are dynamic).
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(wrapper, tuple(inputs.values()), buf, dynamo=False,
                              input_names=list(inputs), output_names=list(out_names),
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True)
        else:
            try:
                import onnxscript  # noqa: F401
            except ImportError:
                raise ExportError("the dynamo exporter needs onnxscript: pip install 'yomitori[onnx]'") from None
            dim = torch.export.Dim.DYNAMIC
            shapes = (tuple({a: dim for a in i.dynamic} for i in spec.inputs),)  # one *inputs arg
            program = torch.onnx.export(wrapper, tuple(inputs.values()), None, dynamo=True,
                                        input_names=list(inputs), output_names=list(out_names),
                                        dynamic_shapes=shapes, opset_version=max(opset, 18),
                                        verbose=False)
            program.save(buf)  # type: ignore[union-attr]
    return buf.getvalue()


def convert_onnx_fp16(data: bytes) -> bytes:
    """fp32 ONNX → fp16 weights and compute, keeping fp32 inputs and outputs."""
    try:
        import onnx
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
    except ImportError:
        raise UserError("fp16 ONNX needs onnx and onnxruntime: pip install 'yomitori[onnx]'") from None
    model = onnx.load_from_string(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Recurrent ops stay fp32: ONNX Runtime has no fp16 CPU kernels for them.
        half = convert_float_to_float16(model, keep_io_types=True,
                                        op_block_list=[*DEFAULT_OP_BLOCK_LIST, *RECURRENT_OPS])
    return half.SerializeToString()


def write_onnx(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from yomitori.atomic import atomic_write_bytes

    atomic_write_bytes(path, data)
    return path
