"""ONNX Runtime (CPU execution provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from yomitori.runtime.base import check_precision, fill_inputs, unpack
from yomitori.runtime.files import artifact_meta, resolve_artifact


class OnnxRuntimeModel:
    backend = "onnxruntime"

    def __init__(self, session: ort.InferenceSession, meta: dict[str, Any], precision: str) -> None:
        self.session, self.meta, self.precision = session, meta, precision
        self.input_names = tuple(i.name for i in session.get_inputs())
        self.output_names = tuple(o.name for o in session.get_outputs())
        self._dtypes = {i["name"]: i["dtype"] for i in meta.get("export", {}).get("inputs", [])}

    def __call__(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        return unpack(self.session.run(None, fill_inputs(x, extra, self.input_names, self._dtypes)))


class OnnxRuntimeBackend:
    """``threads``: intra-op threads (None: ONNX Runtime's default, one per physical core)."""

    name = "onnxruntime"
    extra = "onnx"

    def load(self, path: str | Path, *, precision: str = "fp32", threads: int | None = None,
             cache_dir: str | Path | None = None, calibration: Any = None, **options: Any) -> OnnxRuntimeModel:
        check_precision(precision, ("fp32", "fp16", "int8"), self.name)
        path = resolve_artifact(path, "onnx", precision, (".onnx",), cache_dir=cache_dir,
                                calibration=calibration, threads=threads)
        meta = artifact_meta(path, precision)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # ORT 1.32 crashes (SIGSEGV) creating a session for fp16 graphs with LSTMs at level ALL
        # (its CPU layout transformations); EXTENDED keeps every fusion and is safe.
        opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED if precision == "fp16"
                                         else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        opts.log_severity_level = 3  # errors only: shape-inference warnings are noise here
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return OnnxRuntimeModel(session, meta, precision)
