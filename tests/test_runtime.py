"""The Backend interface: PyTorch, ONNX Runtime and OpenVINO give the same outputs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from yomitori.errors import UserError
from yomitori.models import create_model, list_models
from yomitori.models.io import save_weights
from yomitori.runtime import (
    MEASURED_ORDER,
    InferenceModel,
    MissingRuntimeError,
    available_backends,
    default_backend,
    get_backend,
)

EXPORTED = ["onnxruntime", "openvino"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("YOMITORI_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "export"


def _weights(tmp_path, name: str, **kwargs):
    torch.manual_seed(0)
    path = tmp_path / f"{name}.safetensors"
    save_weights(create_model(name, **kwargs), path, {"task": "test"})
    return path


@pytest.mark.parametrize("backend", EXPORTED)
def test_backend_matches_torch_from_safetensors(tmp_path, cache, backend):
    weights = _weights(tmp_path, "resnet_tiny")
    ref = get_backend("torch").load(weights, threads=1)
    model = get_backend(backend).load(weights, precision="fp32", threads=1)
    assert isinstance(model, InferenceModel) and model.backend == backend
    assert model.meta["model"] == "resnet_tiny" and model.input_names[0] == "image"
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    assert np.abs(model(x) - ref(x)).max() <= 1e-4
    assert len(list(cache.iterdir())) == 1  # exported once, into the cache


@pytest.mark.parametrize("backend", EXPORTED)
def test_line_recognizer_any_width_and_direction(tmp_path, cache, backend):
    crnn = [e.name for e in list_models(family="crnn") if e.tiny]
    if not crnn:
        pytest.skip("no tiny crnn registered")
    weights = _weights(tmp_path, crnn[0])
    ref = get_backend("torch").load(weights, threads=1)
    model = get_backend(backend).load(weights, threads=1)
    rng = np.random.default_rng(1)
    h = model.meta["export"]["inputs"][0]["shape"][2]
    for width in (64, 200):
        x = rng.standard_normal((2, 1, h, width)).astype(np.float32)
        extra = {"vertical": np.array([0, 1])} if "vertical" in model.input_names else {}
        got, want = model(x, **extra), ref(x, **extra)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4
        if extra:  # omitted optional input = zeros, on every backend alike
            assert np.abs(model(x) - ref(x)).max() <= 1e-4


def test_cache_reused_and_keyed_by_precision(tmp_path, cache):
    from yomitori.export.cache import cache_key, cached_export

    weights = _weights(tmp_path, "cnn_tiny")
    first = cached_export(weights, "onnx")
    mtime = first.stat().st_mtime_ns
    assert cached_export(weights, "onnx") == first and first.stat().st_mtime_ns == mtime
    assert cache_key(weights, "onnx", "fp32") != cache_key(weights, "onnx", "fp16")
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_openvino_inference_precision_is_explicit(tmp_path, cache):
    import openvino as ov

    from yomitori.export import export_model

    weights = _weights(tmp_path, "cnn_tiny")
    backend = get_backend("openvino")
    assert backend.load(weights, threads=1).inference_precision == "f32"
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" in capabilities:
        # Why the hint is set: left alone, the CPU plugin runs fp32 graphs in bf16 here.
        path = export_model(create_model("cnn_tiny"), {}, tmp_path / "ir", fmt="openvino", check=False).path
        default = ov.Core().compile_model(str(path), "CPU")
        assert default.get_property("INFERENCE_PRECISION_HINT").to_string() == "bf16"
        assert backend.load(weights, inference_precision="bf16").inference_precision == "bf16"
    with pytest.raises(UserError, match="inference_precision"):
        backend.load(weights, inference_precision="int4")


def test_threads_are_applied(tmp_path, cache):
    weights = _weights(tmp_path, "cnn_tiny")
    ort_model = get_backend("onnxruntime").load(weights, threads=1)
    assert ort_model.session.get_session_options().intra_op_num_threads == 1
    ov_model = get_backend("openvino").load(weights, threads=1)
    assert ov_model.compiled.get_property("INFERENCE_NUM_THREADS") == 1


@pytest.mark.parametrize("name, extra", [("openvino", "yomitori[openvino]"), ("onnxruntime", "yomitori[onnx]")])
def test_missing_runtime_names_the_extra(monkeypatch, name, extra):
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    with pytest.raises(MissingRuntimeError, match=extra.replace("[", r"\[").replace("]", r"\]")):
        get_backend(name)
    assert name not in available_backends()
    assert default_backend() in available_backends()
    monkeypatch.setitem(sys.modules, "onnxruntime" if name == "openvino" else "openvino", None)
    with pytest.raises(MissingRuntimeError, match="needs ONNX Runtime or OpenVINO"):
        default_backend("int8")


def test_default_is_fastest_installed():
    available = available_backends()
    assert "torch" in available
    assert default_backend() == next(b for b in MEASURED_ORDER if b in available)
    assert default_backend("int8") in ("openvino", "onnxruntime")
    assert get_backend("auto").name == default_backend()
    with pytest.raises(UserError, match="unknown backend"):
        get_backend("tensorrt")


def test_exported_file_loads_directly_and_checks_precision(tmp_path):
    from yomitori.export import export_model

    path = export_model(create_model("cnn_tiny"), {"task": "test"}, tmp_path, fmt="onnx", check=False).path
    model = get_backend("onnxruntime").load(path, threads=1)
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    assert get_backend("openvino").load(path, threads=1).meta["task"] == "test"  # OpenVINO reads ONNX too
    with pytest.raises(UserError, match="fp32 export"):
        get_backend("onnxruntime").load(path, precision="int8")
    with pytest.raises(UserError, match="unknown model inputs"):
        model(np.zeros((1, 1, 28, 28), np.float32), nope=np.zeros(1))


def test_torch_backend_rejects_other_precisions(tmp_path):
    with pytest.raises(UserError, match="torch backend"):
        get_backend("torch").load(_weights(tmp_path, "cnn_tiny"), precision="int8")


def test_runtime_options_from_cli_flags(tmp_path):
    import argparse

    from yomitori.runtime.options import RuntimeOptions, add_runtime_arguments

    parser = argparse.ArgumentParser()
    add_runtime_arguments(parser)
    options = RuntimeOptions.from_args(parser.parse_args(["--backend", "torch", "--threads", "1"]))
    assert options == RuntimeOptions("torch", "fp32", 1, "f32")
    model = options.load(_weights(tmp_path, "cnn_tiny"))
    assert model.backend == "torch" and model(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 10)
