"""Eager PyTorch (CPU or CUDA), the reference every exported runtime is checked against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from yomitori.export.spec import spec_for
from yomitori.runtime.base import check_precision, fill_inputs, unpack


class TorchModel:
    backend = "torch"

    def __init__(self, model: nn.Module, meta: dict[str, Any], device: str = "cpu",
                 precision: str = "fp32") -> None:
        self.model = model.eval().to(device)
        self.meta, self.device, self.precision = meta, device, precision
        spec = spec_for(model)
        self.input_names = tuple(i.name for i in spec.inputs)
        self._params = {i.name: i.param or i.name for i in spec.inputs[1:]}
        self._dtypes = {i.name: i.dtype for i in spec.inputs}
        self.output_names: tuple[str, ...] = tuple(meta.get("export", {}).get("outputs", ())) or ("output",)

    def __call__(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        feed = fill_inputs(x, extra, self.input_names, self._dtypes)
        tensors = {k: torch.from_numpy(v).to(self.device) for k, v in feed.items()}
        first = tensors.pop(self.input_names[0])
        with torch.inference_mode():
            out = self.model(first, **{self._params[k]: v for k, v in tensors.items()})
        if isinstance(out, dict):
            out = tuple(out.values())
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return unpack([o.float().cpu().numpy() for o in outs])


class TorchBackend:
    """``threads`` sets ``torch.set_num_threads``, which is process-wide in PyTorch."""

    name = "torch"
    extra = None

    def load(self, path: str | Path, *, precision: str = "fp32", threads: int | None = None,
             device: str = "cpu", **options: Any) -> TorchModel:
        from yomitori.models.io import load_weights

        check_precision(precision, ("fp32",), self.name)
        if threads:
            torch.set_num_threads(threads)
        model, meta = load_weights(path, map_location=device)
        return TorchModel(model, meta, device, precision)

    def from_module(self, model: nn.Module, meta: dict[str, Any] | None = None,
                    threads: int | None = None) -> TorchModel:
        if threads:
            torch.set_num_threads(threads)
        return TorchModel(model, meta or {})
