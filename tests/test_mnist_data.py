import gzip
import struct

import numpy as np
import pytest

from yomitori.data.mnist import load_mnist, parse_idx, to_mnist_style, write_idx
from yomitori.errors import DataError


def test_idx_round_trip_raw_and_gzip():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(write_idx(a)), a)
    assert np.array_equal(parse_idx(gzip.compress(write_idx(a))), a)


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"", "too short"),
        (b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc", "bad magic"),
        (write_idx(np.zeros((4, 2, 2), np.uint8))[:-3], "truncated"),
        (write_idx(np.zeros((4,), np.uint8)) + b"xx", "trailing"),
        (gzip.compress(write_idx(np.zeros((4,), np.uint8)))[:-6], "corrupt gzip"),
        (b"\x00\x00\x08\x03" + b"\x00\x00", "truncated header"),
    ],
)
def test_corrupt_idx_raises_clear_error(blob, message):
    with pytest.raises(DataError, match=message):
        parse_idx(blob, "x.idx")


def test_load_tiny_dir(tiny_mnist_dir):
    s = load_mnist(tiny_mnist_dir, "train")
    assert s.images.shape == (256, 1, 28, 28) and s.labels.shape == (256,)
    assert s.labels.max() <= 9


def test_missing_files_error_names_path(tmp_path):
    with pytest.raises(DataError, match="missing"):
        load_mnist(tmp_path, "train")


def test_mismatched_counts(tmp_path, tiny_mnist_dir):
    import shutil

    for f in ("train-images-idx3-ubyte.gz",):
        shutil.copy(f"{tiny_mnist_dir}/{f}", tmp_path / f)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(write_idx(np.zeros(5, np.uint8)))
    with pytest.raises(DataError, match="do not match"):
        load_mnist(tmp_path, "train")


def test_mnist_style_normalisation_polarity_and_centering():
    from PIL import Image, ImageDraw

    img = Image.new("L", (200, 300), 255)  # dark digit on white, off-centre
    ImageDraw.Draw(img).rectangle([20, 30, 60, 200], fill=0)
    x = to_mnist_style(img)
    assert x.shape == (28, 28) and x.max() > 0.9 and x[0, 0] == 0
    ys, xs = np.nonzero(x > 0.5)
    assert ys.max() - ys.min() + 1 <= 20 and abs(ys.mean() - 13.5) < 1.5 and abs(xs.mean() - 13.5) < 1.5
    inv = Image.eval(img, lambda v: 255 - v)  # light on dark gives the same result
    assert np.allclose(to_mnist_style(inv), x, atol=1e-5)
