"""INT8 post-training quantization with NNCF, and the accuracy change it costs.

Calibration is a hook: an iterable of model inputs (one array, or a dict of arrays by input
name, each with batch 1). Tasks register where their calibration and evaluation data come from:

    @register_calibration("lines")
    def line_calibration(meta: dict, n: int) -> Iterable[np.ndarray]: ...

    @register_evaluator("lines")
    def line_cer(predict: Callable[[np.ndarray], np.ndarray], meta: dict, limit: int | None) -> dict: ...

Registered here: ``mnist`` (training images to calibrate, the 10,000 test images to evaluate)
and ``lines`` (synthetic lines of the data engine: train split to calibrate, the held-out eval
split to measure CER, half vertical). Other tasks register the same way, or a caller passes
``calibration``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from yomitori.errors import UserError

Calibration = Iterable[np.ndarray | dict[str, np.ndarray]]
Predict = Callable[..., np.ndarray]  # (x, **extra inputs) -> first output

_CALIBRATION: dict[str, Callable[[dict[str, Any], int], Calibration]] = {}
_EVALUATORS: dict[str, Callable[[Predict, dict[str, Any], int | None], dict[str, float]]] = {}


def register_calibration(task: str) -> Callable:
    def add(fn: Callable[[dict[str, Any], int], Calibration]) -> Callable:
        if task in _CALIBRATION:
            raise ValueError(f"calibration for task {task!r} is already registered")
        _CALIBRATION[task] = fn
        return fn

    return add


def register_evaluator(task: str) -> Callable:
    def add(fn: Callable[[Predict, dict[str, Any], int | None], dict[str, float]]) -> Callable:
        if task in _EVALUATORS:
            raise ValueError(f"evaluator for task {task!r} is already registered")
        _EVALUATORS[task] = fn
        return fn

    return add


def calibration_for(meta: dict[str, Any], n: int) -> Calibration:
    task = meta.get("task")
    if task not in _CALIBRATION:
        known = ", ".join(sorted(_CALIBRATION)) or "none"
        raise UserError(f"INT8 needs calibration data and none is registered for task {task!r} "
                        f"(registered: {known}); pass a calibration iterable to export_model")
    return _CALIBRATION[task](meta, n)


def evaluator_for(task: str | None) -> Callable[[Predict, dict[str, Any], int | None], dict[str, float]] | None:
    return _EVALUATORS.get(task or "")


def _as_feed(item: np.ndarray | dict[str, np.ndarray], names: list[str],
             defaults: Callable[[int], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    feed = dict(item) if isinstance(item, dict) else {names[0]: item}
    n = len(next(iter(feed.values())))
    for k, v in defaults(n).items():
        feed.setdefault(k, v)
    return {k: np.ascontiguousarray(feed[k]) for k in names}


def _quiet_nncf() -> Any:
    try:
        import nncf
    except ImportError:
        raise UserError("INT8 quantization needs NNCF: pip install 'yomitori[openvino]'") from None
    nncf.set_log_level(logging.ERROR)
    return nncf


# Recurrent layers stay fp32. NNCF quantizes the inputs and weights of LSTM/GRU cells with one
# scale for all time steps; errors compound along the sequence. On the shipped line recognizer
# (stage 4 weights, 100 held-out lines, OpenVINO) the whole graph in INT8 raised CER from 7.11 %
# to 16.15 %; keeping only the two LSTMSequence ops in fp32 gave 7.40 % (docs/deploy.md).
RECURRENT_TYPES = {"openvino": ["LSTMSequence", "GRUSequence", "RNNSequence", "LSTMCell", "GRUCell", "RNNCell"],
                   "onnx": ["LSTM", "GRU", "RNN"]}


def _quantize(nncf: Any, model: Any, backend: str, calibration: Calibration, names: list[str], subset_size: int,
              defaults: Callable[[int], dict[str, np.ndarray]]) -> Any:
    items = list(calibration)
    if not items:
        raise UserError("INT8 calibration data is empty")
    dataset = nncf.Dataset(items, lambda it: _as_feed(it, names, defaults))
    # validate=False: a graph without recurrent layers is fine.
    ignored = nncf.IgnoredScope(types=RECURRENT_TYPES[backend], validate=False)
    return nncf.quantize(model, dataset, subset_size=min(subset_size, len(items)), ignored_scope=ignored)


def quantize_openvino(model: Any, calibration: Calibration, names: list[str], subset_size: int,
                      defaults: Callable[[int], dict[str, np.ndarray]]) -> Any:
    """NNCF PTQ of an ``openvino.Model`` (8-bit weights and activations; recurrent layers fp32)."""
    nncf = _quiet_nncf()
    return _quantize(nncf, model, "openvino", calibration, names, subset_size, defaults)


def quantize_onnx(data: bytes, calibration: Calibration, names: list[str], subset_size: int,
                  defaults: Callable[[int], dict[str, np.ndarray]]) -> bytes:
    """NNCF PTQ of an ONNX graph → QDQ ONNX that ONNX Runtime runs with int8 kernels (recurrent
    layers fp32)."""
    nncf = _quiet_nncf()
    try:
        import onnx
    except ImportError:
        raise UserError("INT8 ONNX needs the onnx package: pip install 'yomitori[onnx]'") from None
    quantized = _quantize(nncf, onnx.load_from_string(data), "onnx", calibration, names, subset_size, defaults)
    return quantized.SerializeToString()


def accuracy_change(task: str | None, reference: Predict, candidate: Predict, meta: dict[str, Any],
                    limit: int | None = None) -> dict[str, Any] | None:
    """Each metric of the task's evaluator for the reference (fp32) and candidate models."""
    evaluate = evaluator_for(task)
    if evaluate is None:
        return None
    ref, cand = evaluate(reference, meta, limit), evaluate(candidate, meta, limit)
    return {k: {"reference": ref[k], "candidate": cand[k], "change": cand[k] - ref[k]} for k in ref}


# --- MNIST -------------------------------------------------------------------------------------

@register_calibration("mnist")
def mnist_calibration(meta: dict[str, Any], n: int) -> Iterator[np.ndarray]:
    """``n`` training images (a fixed random subset), normalised as in training, batch 1 each."""
    from yomitori.data.mnist import load_mnist

    train = load_mnist(meta.get("data_dir"), "train")
    idx = np.random.default_rng(0).permutation(len(train))[:n]
    images = train.images.numpy()
    return (images[i : i + 1] for i in idx)


@register_evaluator("mnist")
def mnist_accuracy(predict: Predict, meta: dict[str, Any], limit: int | None) -> dict[str, float]:
    """Top-1 accuracy (%) on the MNIST test images (all 10,000 unless ``limit``)."""
    from yomitori.data.mnist import load_mnist

    test = load_mnist(meta.get("data_dir"), "test", limit=limit)
    x, y = test.images.numpy(), test.labels.numpy()
    correct = 0
    for i in range(0, len(x), 500):
        correct += int((predict(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum())
    return {"accuracy": 100.0 * correct / max(len(x), 1)}


# --- text lines (CRNN family) ------------------------------------------------------------------

def _line_config(meta: dict[str, Any], split: str):  # noqa: ANN202 - a LineConfig
    from yomitori.data.lines import LineConfig

    return LineConfig(height_px=_line_height(meta), split=split, vertical_prob=0.5)


def _line_height(meta: dict[str, Any]) -> int:
    return int(meta.get("height") or meta.get("model_kwargs", {}).get("height") or 32)


def _line_input(sample: Any, height: int) -> tuple[np.ndarray, np.ndarray, int]:
    from yomitori.recognition.prepare import batch_lines, prepare_line

    x, frames = batch_lines([prepare_line(sample.image, sample.vertical, height)])
    return x, np.array([int(sample.vertical)], np.int64), int(frames[0])


@register_calibration("lines")
def line_calibration(meta: dict[str, Any], n: int) -> Iterator[dict[str, np.ndarray]]:
    """``n`` synthetic training-split lines (seed 0), half vertical, batch 1 each."""
    from yomitori.data.lines import render_line

    cfg, height = _line_config(meta, "train"), _line_height(meta)
    for i in range(n):
        x, vertical, _ = _line_input(render_line(0, i, cfg), height)
        yield {"image": x, "vertical": vertical}


@register_evaluator("lines")
def line_cer(predict: Predict, meta: dict[str, Any], limit: int | None) -> dict[str, float]:
    """CER (%) on held-out synthetic lines (eval fonts and texts, seed 12345, 300 unless ``limit``)."""
    from yomitori.charset import default_charset
    from yomitori.data.lines import render_line
    from yomitori.recognition.ctc import greedy_decode
    from yomitori.recognition.metrics import edit_distance

    charset, cfg, height = default_charset(), _line_config(meta, "eval"), _line_height(meta)
    edits = chars = 0
    for i in range(limit or 300):
        sample = render_line(12345, i, cfg)
        x, vertical, frames = _line_input(sample, height)
        logits = predict(x, vertical=vertical)
        hyp = charset.decode(greedy_decode(logits[0], frames).ids)
        edits += edit_distance(hyp, sample.text)
        chars += len(sample.text)
    return {"cer": 100.0 * edits / max(chars, 1)}
