"""OpenVINO (CPU plugin) with an explicit inference precision.

On CPUs with bf16 support (AVX512-BF16, AMX) the CPU plugin's default inference precision is
bf16: an fp32 graph runs in bf16 without a word (measured here: MNIST CNN logits off by 0.175,
one prediction in 2,000 changed). This backend always sets ``INFERENCE_PRECISION_HINT``: f32
unless the caller chooses ``inference_precision="bf16"`` (or "f16" where the CPU has it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov

from yomitori.errors import UserError
from yomitori.runtime.base import check_precision, fill_inputs, unpack
from yomitori.runtime.files import artifact_meta, resolve_artifact

INFERENCE_PRECISIONS = ("f32", "bf16", "f16")
_CORE: ov.Core | None = None


def core() -> ov.Core:
    global _CORE
    if _CORE is None:
        _CORE = ov.Core()
    return _CORE


def _port_name(port: ov.Output, known: list[str]) -> str:
    """A port's tensor name; the ONNX graph's own name when the port has several."""
    names = port.get_names()
    for name in known:
        if name in names:
            return name
    plain = sorted(n for n in names if not n.startswith("/"))
    return plain[0] if plain else port.get_any_name()


class OpenVinoModel:
    """One infer request: a model object is not for concurrent calls (load one per thread)."""

    backend = "openvino"

    def __init__(self, compiled: ov.CompiledModel, meta: dict[str, Any], precision: str) -> None:
        self.compiled, self.meta, self.precision = compiled, meta, precision
        self.request = compiled.create_infer_request()
        export = meta.get("export", {})
        known = [i["name"] for i in export.get("inputs", [])] + list(export.get("outputs", []))
        self.input_names = tuple(_port_name(p, known) for p in compiled.inputs)
        self.output_names = tuple(_port_name(p, known) for p in compiled.outputs)
        # Feed each input in the element type the compiled model takes (int64 may become i32).
        self._index = {n: i for i, n in enumerate(self.input_names)}
        self._dtypes = {n: p.get_element_type().to_dtype().name
                        for n, p in zip(self.input_names, compiled.inputs, strict=True)}

    @property
    def inference_precision(self) -> str:
        """The compiled model's INFERENCE_PRECISION_HINT, read back ("f32", "bf16"...)."""
        return self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()

    def __call__(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        feed = fill_inputs(x, extra, self.input_names, self._dtypes)
        self.request.infer({self._index[k]: v for k, v in feed.items()})
        # Copies: the request reuses its output buffers on the next call.
        return unpack([self.request.get_output_tensor(i).data.copy() for i in range(len(self.output_names))])


class OpenVinoBackend:
    """``threads``: INFERENCE_NUM_THREADS (None: the plugin's default, all cores)."""

    name = "openvino"
    extra = "openvino"

    def load(self, path: str | Path, *, precision: str = "fp32", threads: int | None = None,
             inference_precision: str = "f32", performance_hint: str = "LATENCY",
             cache_dir: str | Path | None = None, calibration: Any = None, **options: Any) -> OpenVinoModel:
        check_precision(precision, ("fp32", "fp16", "int8"), self.name)
        if inference_precision not in INFERENCE_PRECISIONS:
            raise UserError(f"inference_precision must be one of {', '.join(INFERENCE_PRECISIONS)}, "
                            f"not {inference_precision!r}")
        path = resolve_artifact(path, "openvino", precision, (".xml", ".onnx"), cache_dir=cache_dir,
                                calibration=calibration, threads=threads)
        meta = artifact_meta(path, precision)
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": inference_precision,
                                  "PERFORMANCE_HINT": performance_hint}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        compiled = core().compile_model(core().read_model(str(path)), "CPU", config)
        return OpenVinoModel(compiled, meta, precision)
