"""One inference interface over PyTorch, ONNX Runtime and OpenVINO.

    backend = get_backend(default_backend())          # or "torch" | "onnxruntime" | "openvino"
    model = backend.load("src/yomitori/weights/mnist_cnn.safetensors", precision="fp32", threads=2)
    logits = model(images)                            # np.ndarray in, np.ndarray (or a tuple) out

``load`` takes the shipped ``.safetensors`` (with its ``.json``); ONNX Runtime and OpenVINO
export it on first use into a cache (see :mod:`yomitori.export.cache`), so the package ships
safetensors only. They also load an exported ``.onnx`` / ``.xml`` directly.

Precision is always explicit: ``fp32`` (default), ``fp16`` or ``int8`` is the precision of the
exported graph; OpenVINO's compute precision (``INFERENCE_PRECISION_HINT``) is set to f32 unless
the caller asks for ``bf16``, because on CPUs with bf16 support OpenVINO would otherwise lower
fp32 graphs to bf16 silently.

``default_backend(precision="fp32")`` is the first installed runtime in :data:`MEASURED_ORDER`
(for int8/fp16: :data:`ORDER_BY_PRECISION`), the order of batch-1 latency measured by
``bench/bench_runtimes.py`` on this project's CPU machines (see docs/deploy.md for the table).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from yomitori.errors import UserError

PRECISIONS = ("fp32", "fp16", "int8")

# name -> (module, class, package to import, optional extra that installs it)
_BACKENDS: dict[str, tuple[str, str, str, str | None]] = {
    "torch": ("yomitori.runtime.torch_backend", "TorchBackend", "torch", None),
    "onnxruntime": ("yomitori.runtime.onnxruntime_backend", "OnnxRuntimeBackend", "onnxruntime", "onnx"),
    "openvino": ("yomitori.runtime.openvino_backend", "OpenVinoBackend", "openvino", "openvino"),
}
# Fastest first at the default precision (fp32), by bench/bench_runtimes.py --threads 1 (batch-1
# latency, docs/deploy.md): ONNX Runtime 1.6-2x ahead of OpenVINO on the digit and character
# classifiers, level (within noise) on the line recognizer and layout network, both 1.6-13x
# ahead of eager PyTorch.
MEASURED_ORDER: tuple[str, ...] = ("onnxruntime", "openvino", "torch")
# At int8 OpenVINO leads (lines 1.5x, layout 2.2x ONNX Runtime); fp16 is no faster than fp32 on
# CPUs without AVX512-FP16, and slower on ONNX Runtime. PyTorch runs fp32 only.
ORDER_BY_PRECISION: dict[str, tuple[str, ...]] = {
    "fp32": MEASURED_ORDER, "fp16": ("openvino", "onnxruntime"), "int8": ("openvino", "onnxruntime")}


class MissingRuntimeError(UserError):
    """The runtime's package is not installed; the message names the extra that installs it."""


@runtime_checkable
class InferenceModel(Protocol):
    """A loaded model. Inputs and outputs are numpy arrays; batch is axis 0."""

    meta: dict[str, Any]  # the weights' metadata (model, model_kwargs, task, labels...) + "export"
    input_names: tuple[str, ...]  # first: the image; others optional (zeros when omitted)
    output_names: tuple[str, ...]
    backend: str
    precision: str

    def __call__(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]: ...


@runtime_checkable
class Backend(Protocol):
    name: str
    extra: str | None

    def load(self, path: str | Path, *, precision: str = "fp32", threads: int | None = None,
             **options: Any) -> InferenceModel: ...


def install_hint(name: str) -> str:
    extra = _BACKENDS[name][3]
    return f"pip install 'yomitori[{extra}]'" if extra else "pip install yomitori"


def _check_installed(name: str) -> None:
    package = _BACKENDS[name][2]
    try:
        importlib.import_module(package)
    except ImportError:
        raise MissingRuntimeError(f"the {name} runtime is not installed: {install_hint(name)}") from None


def get_backend(name: str) -> Backend:
    """The backend called ``name``; MissingRuntimeError (naming the extra) if not installed."""
    if name == "auto":
        name = default_backend()
    if name not in _BACKENDS:
        raise UserError(f"unknown backend {name!r}; choose from auto, {', '.join(_BACKENDS)}")
    _check_installed(name)
    module, cls, _, _ = _BACKENDS[name]
    return getattr(importlib.import_module(module), cls)()


def backend_names() -> tuple[str, ...]:
    return tuple(_BACKENDS)


def available_backends(precision: str = "fp32") -> list[str]:
    """Installed backends that run ``precision``, fastest first."""
    names = []
    for name in ORDER_BY_PRECISION.get(precision, MEASURED_ORDER):
        try:
            _check_installed(name)
        except MissingRuntimeError:
            continue
        names.append(name)
    return names


def default_backend(precision: str = "fp32") -> str:
    """The fastest installed backend for ``precision`` (fp32: torch is always installed)."""
    available = available_backends(precision)
    if not available:
        hint = install_hint("openvino")
        raise MissingRuntimeError(f"precision {precision} needs ONNX Runtime or OpenVINO: {hint}")
    return available[0]


def check_precision(precision: str, supported: Sequence[str], backend: str) -> None:
    if precision not in supported:
        raise UserError(f"the {backend} backend runs precision {', '.join(supported)}, not {precision!r}")


def fill_inputs(x: np.ndarray, extra: dict[str, np.ndarray], names: Sequence[str],
                dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """Feed dict: ``x`` as the first input, named extras, zeros (batch-sized) for omitted ones."""
    feed = {names[0]: np.ascontiguousarray(x, dtype=np.float32)}
    unknown = set(extra) - set(names[1:])
    if unknown:
        raise UserError(f"unknown model inputs {sorted(unknown)}; the model takes {list(names)}")
    for name in names[1:]:
        dtype = dtypes.get(name, "float32")
        value = extra.get(name)
        feed[name] = (np.zeros(len(x), dtype=dtype) if value is None
                      else np.ascontiguousarray(value, dtype=dtype))
    return feed


def unpack(outputs: Sequence[np.ndarray]) -> np.ndarray | tuple[np.ndarray, ...]:
    return outputs[0] if len(outputs) == 1 else tuple(outputs)
