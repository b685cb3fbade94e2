"""Export every tiny model to ONNX and OpenVINO and check parity with PyTorch.

New families are picked up automatically: every registered tiny model is exported; families
with dynamic spatial axes (line recognizers: width; layout: height and width) are checked at
two sizes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from yomitori.cli import main
from yomitori.errors import UserError
from yomitori.export import ExportSpec, export_model, get_export_spec, register_export_spec
from yomitori.models import create_model, list_models
from yomitori.models.io import save_weights

TINY = [e.name for e in list_models() if e.tiny]
FORMATS = ["onnx", "openvino"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", TINY)
def test_tiny_model_exports_with_fp32_parity(tmp_path, name, fmt):
    torch.manual_seed(0)
    model = create_model(name)
    result = export_model(model, {"task": "test"}, tmp_path, fmt=fmt, threads=1)
    assert result.path.exists() and result.path.with_suffix(".json").exists()
    if fmt == "openvino":
        assert result.path.with_suffix(".bin").exists()
    assert result.parity and max(result.parity.values()) <= 1e-4, result.parity
    spec = get_export_spec(_family(name))
    spatial = {a for i in spec.inputs[:1] for a in i.dynamic} - {0}
    if spatial:  # checked at two different sizes along the dynamic axes
        assert len(result.parity) == 2
    meta = json.loads(result.path.with_suffix(".json").read_text())
    assert meta["export"]["precision"] == "fp32" and meta["export"]["format"] == fmt


def _family(name: str) -> str:
    return next(e.family for e in list_models() if e.name == name)


def test_crnn_like_model_takes_two_widths(tmp_path):
    """A line recognizer exported once runs at any width (T = W / 4 follows)."""
    import onnxruntime as ort

    crnn = [e.name for e in list_models(family="crnn") if e.tiny]
    if not crnn:
        pytest.skip("no tiny crnn registered")
    model = create_model(crnn[0]).eval()
    result = export_model(model, {}, tmp_path, fmt="onnx", threads=1)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    h = session.get_inputs()[0].shape[2]
    for width in (96, 320):
        x = np.random.default_rng(width).standard_normal((2, 1, h, width)).astype(np.float32)
        feed = {"image": x}
        if len(session.get_inputs()) > 1:
            feed["vertical"] = np.array([0, 1])
        got = session.run(None, feed)[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(x), **({"vertical": torch.tensor([0, 1])} if "vertical" in feed else {}))
        assert got.shape == tuple(ref.shape) and got.shape[1] == width // 4
        assert np.abs(got - ref.numpy()).max() <= 1e-4


FP16_MODELS = ["cnn_tiny"] + [e.name for e in list_models(family="crnn") if e.tiny][:1]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", FP16_MODELS)
def test_fp16_export_is_close(tmp_path, fmt, name):
    """Also a guard: ONNX Runtime 1.32 crashed on fp16 graphs with an LSTM at optimization level ALL."""
    torch.manual_seed(0)
    result = export_model(create_model(name), {}, tmp_path, fmt=fmt, precision="fp16", threads=1)
    assert max(result.parity.values()) < 5e-2


@pytest.mark.parametrize("fmt", FORMATS)
def test_int8_export_with_calibration_hook(tmp_path, fmt):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    calibration = [rng.standard_normal((1, 1, 28, 28)).astype(np.float32) for _ in range(8)]
    result = export_model(create_model("cnn_tiny"), {"task": "test"}, tmp_path, fmt=fmt,
                          precision="int8", calibration=calibration, calibration_samples=8, threads=1)
    assert np.isfinite(max(result.parity.values()))
    if fmt == "onnx":
        import onnx

        ops = {n.op_type for n in onnx.load(str(result.path)).graph.node}
        assert "QuantizeLinear" in ops
    else:
        import openvino as ov

        ops = {op.get_type_name() for op in ov.Core().read_model(str(result.path)).get_ops()}
        assert "FakeQuantize" in ops or "FakeConvert" in ops


def test_int8_mnist_reports_accuracy_change(tmp_path, tiny_mnist_dir):
    torch.manual_seed(0)
    meta = {"task": "mnist", "data_dir": tiny_mnist_dir}
    result = export_model(create_model("cnn_tiny"), meta, tmp_path, fmt="openvino", precision="int8",
                          calibration_samples=16, threads=1)
    acc = result.accuracy["accuracy"]
    assert 0 <= acc["reference"] <= 100 and 0 <= acc["candidate"] <= 100
    assert acc["change"] == pytest.approx(acc["candidate"] - acc["reference"])
    assert "accuracy_change" in json.loads(result.path.with_suffix(".json").read_text())


def test_int8_without_calibration_names_the_task(tmp_path):
    with pytest.raises(UserError, match="calibration"):
        export_model(create_model("cnn_tiny"), {"task": "nothing"}, tmp_path, fmt="onnx", precision="int8")


def test_export_cli(tmp_path, capsys):
    weights = tmp_path / "w.safetensors"
    save_weights(create_model("resnet_tiny"), weights, {"task": "test"})
    assert main(["export", str(weights), "--format", "openvino", "-o", str(tmp_path / "out"),
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "w.xml" in out and "max |exported - PyTorch|" in out
    assert (tmp_path / "out" / "w.bin").exists()


def test_export_cli_missing_file(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.safetensors"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "nope.safetensors" in err and err.count("\n") == 1


def test_spec_registry_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register_export_spec("cnn")(get_export_spec("cnn"))
    assert isinstance(get_export_spec("no-such-family"), ExportSpec)


@pytest.mark.slow
def test_transformer_head_falls_back_to_dynamo(tmp_path):
    """Tracing bakes the sequence length into attention reshapes; auto switches exporters."""
    names = [e.name for e in list_models(family="crnn") if "transformer" in e.name]
    if not names:
        pytest.skip("no transformer-head crnn registered")
    result = export_model(create_model(names[0], num_classes=20), {}, tmp_path, fmt="onnx", threads=1)
    assert result.exporter == "dynamo" and max(result.parity.values()) <= 1e-4


def test_int8_lines_reports_cer_change(tmp_path):
    """The `lines` hooks: calibrate on synthetic train lines, CER on held-out ones (needs fonts)."""
    crnn = [e.name for e in list_models(family="crnn") if e.tiny]
    if not crnn:
        pytest.skip("no tiny crnn registered")
    from yomitori.data.lines import LineConfig, render_line

    try:
        render_line(0, 0, LineConfig(split="eval"))
    except UserError as exc:
        pytest.skip(str(exc))
    torch.manual_seed(0)
    model = create_model(crnn[0])
    meta = {"task": "lines", "model_kwargs": {"height": model.height}}
    result = export_model(model, meta, tmp_path, fmt="openvino", precision="int8", calibration_samples=4,
                          eval_limit=4, threads=1)
    cer = result.accuracy["cer"]
    assert cer["reference"] >= 0 and cer["candidate"] >= 0


def test_int8_keeps_recurrent_layers_fp32(tmp_path):
    """OpenVINO INT8: the LSTM's data input and weights are not fake-quantized or int8-compressed
    (quantizing the LSTM doubled the line recognizer's CER), while the convolutions are."""
    ov = pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    crnn = [e.name for e in list_models(family="crnn") if e.tiny]
    if not crnn:
        pytest.skip("no tiny crnn registered")
    torch.manual_seed(0)
    model = create_model(crnn[0])
    rng = np.random.default_rng(0)
    calibration = [{"image": rng.random((1, 1, model.height, 64), dtype=np.float32) * 2 - 1,
                    "vertical": np.zeros(1, np.int64)} for _ in range(4)]
    result = export_model(model, {}, tmp_path, fmt="openvino", precision="int8", calibration=calibration,
                          calibration_samples=4, threads=1, evaluate=False)
    ops = ov.Core().read_model(str(result.path)).get_ordered_ops()
    assert any(op.get_type_name() == "FakeQuantize" for op in ops)
    lstms = [op for op in ops if op.get_type_name() == "LSTMSequence"]
    assert lstms, "the tiny CRNN should export an LSTM"
    for op in lstms:
        sources = {i.get_source_output().get_node().get_type_name() for i in op.inputs()}
        assert not sources & {"FakeQuantize", "Multiply"}, sources
