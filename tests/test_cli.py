"""CLI smoke runs on tiny data, and bad input to `predict`: one clear line, non-zero exit."""

import json
import struct
import zlib

import pytest

from yomitori.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_help_and_unknown_command(capsys):
    rc, out, _ = run_cli(capsys, "--help")
    assert rc == 0 and "read" in out and "train" in out
    rc, _, err = run_cli(capsys, "nope")
    assert rc == 2 and "unknown command" in err


def test_train_eval_predict_smoke(tmp_path, tiny_mnist_dir, capsys):
    from PIL import Image

    w = tmp_path / "w.safetensors"
    rc, out, _ = run_cli(capsys, "train", "--task", "mnist", "--model", "cnn_tiny", "--epochs", "1",
                         "--data-dir", tiny_mnist_dir, "--out", str(tmp_path / "run"), "--logger", "none",
                         "--progress", "off", "--save-weights", str(w))
    assert rc == 0 and w.exists() and w.with_suffix(".json").exists()
    meta = json.loads(w.with_suffix(".json").read_text())
    assert meta["model"] == "cnn_tiny" and meta["epochs"] == 1 and "command" in meta
    rc, out, _ = run_cli(capsys, "eval", str(tmp_path / "run" / "last.pt"), "--data-dir", tiny_mnist_dir)
    assert rc == 0 and json.loads(out)["count"] == 128
    img = tmp_path / "d.png"
    Image.new("L", (60, 90), 255).save(img)
    rc, out, _ = run_cli(capsys, "predict", str(w), str(img), "--json", "--top-k", "2")
    assert rc == 0 and len(json.loads(out)[0]["top"]) == 2


def test_models_lists_families(capsys):
    rc, out, _ = run_cli(capsys, "models", "--family", "cnn")
    assert rc == 0 and "cnn_tiny" in out and "MFLOPs" in out


def _huge_png_header(path, w=30_000, h=30_000) -> None:
    """A valid PNG signature + IHDR claiming w × h, with a tiny (truncated) body."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data + b"\x00" * 64)


@pytest.mark.parametrize("case", ["not_image", "empty", "huge", "missing", "directory"])
def test_predict_bad_input_one_line_error(tmp_path, capsys, case):
    weights = "src/yomitori/weights/mnist_cnn.safetensors"
    p = tmp_path / "input.png"
    if case == "not_image":
        p.write_text("hello, I am not a picture")
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "huge":
        _huge_png_header(p)
    elif case == "directory":
        p = tmp_path
    out_json = tmp_path / "result.json"
    rc, out, err = run_cli(capsys, "predict", weights, str(p), "-o", str(out_json))
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("yomitori: error: ") and str(p) in lines[0]
    assert not out_json.exists() and not list(tmp_path.glob(".result.json.*"))  # nothing half-written
