"""Inference runtimes behind one interface: PyTorch, ONNX Runtime, OpenVINO (see base.py)."""

from yomitori.runtime.base import (
    MEASURED_ORDER,
    ORDER_BY_PRECISION,
    Backend,
    InferenceModel,
    MissingRuntimeError,
    available_backends,
    default_backend,
    get_backend,
)

__all__ = [
    "MEASURED_ORDER",
    "ORDER_BY_PRECISION",
    "Backend",
    "InferenceModel",
    "MissingRuntimeError",
    "available_backends",
    "default_backend",
    "get_backend",
]
