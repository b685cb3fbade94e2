"""Character recognition: a tiny model learns, calibration helps, predict reads rendered pictures.

Fonts: the small set of ``scripts/install_fonts.sh minimal`` (tests skip without it).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from yomitori.data.char_preprocess import CharPrep, NoInkError, prepare_char
from yomitori.errors import UserError

TRAIN_FONTS = ("IPAGothic", "IPAPGothic", "SetoFont", "AoyagiKouzanFontT")
EVAL_FONTS = ("BIZ UDMincho", "BIZ UDPMincho", "Yusei Magic")
CLASSES = "chars:あ山木水日"


def _require_fonts() -> None:
    from yomitori.data.fonts import list_fonts

    have = {f.family for f in list_fonts()}
    if not {"IPAGothic", "BIZ UDMincho"} <= have:
        pytest.skip("fonts missing: run 'bash scripts/install_fonts.sh minimal'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``yomitori train --task chars``: resnet_tiny, five characters, three short epochs (~10 s)."""
    _require_fonts()
    from yomitori.cli import main

    tmp = tmp_path_factory.mktemp("chars_run")
    weights = tmp / "chars_tiny.safetensors"
    rc = main(["train", "--task", "chars", "--model", "resnet_tiny", "--epochs", "3", "--batch-size", "32",
               "--test-batch-size", "100", "--optimizer", "adamw", "--lr", "1e-2", "--warmup-epochs", "0.3",
               "--out", str(tmp / "run"), "--logger", "none", "--progress", "off", "--seed", "1",
               "--threads", "1", "--save-weights", str(weights),
               "--set", f"classes={CLASSES}", "--set", "train_size=640", "--set", "eval_size=40",
               "--set", "calib_size=60", "--set", "fonts=" + ",".join(TRAIN_FONTS + EVAL_FONTS)])
    assert rc == 0
    return weights, json.loads((tmp / "run" / "history.json").read_text("utf-8"))


def test_tiny_model_learns_a_handful_of_classes(trained) -> None:
    _, hist = trained
    assert len(hist) == 3 and hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_printed_top1"] >= 0.85  # held-out printed font, never trained on
    assert hist[-1]["test_accuracy"] >= 0.8
    assert 0.0 <= hist[-1]["test_ece"] <= 1.0 and hist[-1]["test_temperature"] > 0


def test_calibration_lowers_ece_on_a_held_out_split() -> None:
    from yomitori.recognition import calibration as cal

    g = torch.Generator().manual_seed(0)
    true = torch.randn(6000, 40, generator=g) * 2.0
    labels = torch.distributions.Categorical(logits=true).sample()
    logits = true * 2.5  # an over-confident model
    fit_z, fit_y, held_z, held_y = logits[:3000], labels[:3000], logits[3000:], labels[3000:]
    t = cal.fit_temperature(fit_z, fit_y)
    assert 2.0 < t < 3.0
    before, after = cal.expected_calibration_error(held_z, held_y), cal.expected_calibration_error(held_z, held_y, t)
    assert after < 0.5 * before
    assert cal.nll(held_z, held_y, t) < cal.nll(held_z, held_y)
    # the all-reducible grid version (used inside training evaluation) agrees
    sums = cal.grid_stats(fit_z, fit_y, "c/", nll_sums=True)
    sums.update(cal.grid_stats(held_z, held_y, "t/", bins=True))
    assert abs(cal.temperature_from_stats(sums, "c/") / t - 1.0) < 0.03
    assert abs(cal.ece_from_stats(sums, "t/", 1.0) - before) < 1e-6
    assert cal.ece_from_stats(sums, "t/", t) < 0.5 * before


def test_preprocessing_ignores_polarity_scale_and_margin() -> None:
    _require_fonts()
    from yomitori.data.chars import CharConfig, render_char

    prep = CharPrep(input_size=48, mean=0.0, std=1.0)
    img = render_char(3, 0, CharConfig(chars="漢", fonts=("IPAGothic",), source_weights=(("printed", 1.0),))).image
    ref = prepare_char(img, prep)
    inverted = prepare_char(255 - img, prep)
    big = np.asarray(Image.fromarray(img).resize((192, 192), Image.BICUBIC))
    framed = np.pad(big, 60, constant_values=int(np.median(img)))
    ys, xs = np.nonzero(img < 128)
    tight = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert ref.shape == (48, 48) and ref.max() > 0.9
    assert np.abs(inverted - ref).mean() < 0.02
    assert np.abs(prepare_char(tight, prep) - ref).mean() < 0.02
    # 3x larger (resampled) in a wide margin: the same shape, strokes a little softer
    assert np.corrcoef(prepare_char(framed, prep).ravel(), ref.ravel())[0, 1] > 0.9
    with pytest.raises(NoInkError):
        prepare_char(np.full((40, 40), 230, np.uint8), prep)


def test_class_specs() -> None:
    from yomitori.charset import default_charset
    from yomitori.train.chars_task import resolve_classes

    assert resolve_classes("all") == default_charset().chars
    kana = resolve_classes("kana")
    assert len(kana) == 170 and "あ" in kana and "ア" in kana
    assert resolve_classes("random:50") == resolve_classes("random:50") and len(resolve_classes("random:50")) == 50
    assert set(resolve_classes("kana+chars:漢")) == set(kana) | {"漢"}
    with pytest.raises(UserError, match="unknown part"):
        resolve_classes("kanjis")


def test_weights_meta_records_charset_preprocessing_and_temperature(trained) -> None:
    from yomitori.charset import Charset
    from yomitori.models.io import read_meta

    meta = read_meta(trained[0])
    assert meta["task"] == "chars" and sorted(meta["labels"]) == sorted("あ山木水日")
    assert meta["charset_sha256"] == Charset(meta["labels"]).sha256 and meta["charset_size"] == 5
    assert CharPrep.from_meta(meta) == CharPrep(input_size=48)
    assert meta["temperature"] > 0 and {"ece_before", "ece_after"} <= set(meta["calibration"])


def test_predict_reads_rendered_characters(trained, tmp_path, capsys) -> None:
    import yomitori.data.char_preprocess  # noqa: F401 - registers the "chars" preprocessor
    from yomitori.cli import main
    from yomitori.data.chars import CharConfig, render_char

    weights = trained[0]
    cfg = CharConfig(split="eval", chars="あ山木水日", fonts=("BIZ UDMincho",), source_weights=(("printed", 1.0),),
                     size_px=80)
    paths, truth = [], []
    for i in range(8):
        s = render_char(11, i, cfg)
        p = tmp_path / f"c{i}.png"
        # a user's picture: larger, light ink on dark for half of them
        img = Image.fromarray(s.image if i % 2 else 255 - s.image).resize((120, 120))
        img.save(p)
        paths.append(str(p))
        truth.append(s.label)
    assert main(["predict", str(weights), *paths, "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(paths)
    right = sum(line.split(": ", 1)[1].split()[0] == t for line, t in zip(lines, truth, strict=True))
    assert right >= 6, lines
    assert all(line.count(" 0.") + line.count(" 1.0") >= 3 for line in lines)  # three probabilities


def test_predict_bad_images_give_one_clear_error(trained, tmp_path, capsys) -> None:
    import yomitori.data.char_preprocess  # noqa: F401
    from yomitori.cli import main

    weights = trained[0]
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 240).save(blank)
    not_image = tmp_path / "notes.png"
    not_image.write_text("this is not a picture")
    for bad, words in ((blank, "no character found"), (not_image, "not a readable image")):
        capsys.readouterr()
        assert main(["predict", str(weights), str(bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(bad) in err[0] and words in err[0], err


def test_eval_sums_have_the_same_keys_whatever_the_batch() -> None:
    """DDP all-reduces eval sums by sorted key: a rank's share must not change the key set."""
    from yomitori.train.chars_task import CALIB, CharsTask
    from yomitori.train.tasks import EvalStats

    task = CharsTask(classes="kana")
    keys = []
    for styles in ([0, 0, 1], [CALIB, CALIB], [2]):
        stats = EvalStats()
        n = len(styles)
        target = torch.stack([torch.arange(n), torch.tensor(styles)], 1)
        task.eval_batch(stats, torch.randn(n, task.num_classes), target, torch.zeros(n, 1, 48, 48))
        keys.append(sorted(stats.sums))
    assert keys[0] == keys[1] == keys[2]


def test_resnet_lines_warm_starts_from_a_line_model_backbone(tmp_path, capsys) -> None:
    from safetensors.torch import save_file

    from yomitori.cli import main
    from yomitori.models import create_model

    torch.manual_seed(0)
    line = create_model("crnn_resnet_small", num_classes=20)
    path = tmp_path / "line.safetensors"
    save_file({k: v.contiguous() for k, v in line.state_dict().items()}, str(path))
    model = create_model("resnet_lines", num_classes=7, input_size=48, backbone_weights=str(path))
    mine = model.backbone.state_dict()
    assert all(torch.equal(mine[k], v) for k, v in line.backbone.state_dict().items())
    assert model.eval()(torch.zeros(2, 1, 48, 48)).shape == (2, 7)
    bad = tmp_path / "bad.safetensors"
    save_file({"x": torch.zeros(1)}, str(bad))
    rc = main(["train", "--task", "chars", "--model", "resnet_lines", "--set", f"backbone={bad}",
               "--set", "classes=chars:あい", "--out", str(tmp_path / "run"), "--logger", "none"])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.safetensors" in err and "backbone" in err and len(err.strip().splitlines()) == 1


def test_shipped_default_reads_held_out_printed_characters(tmp_path, capsys) -> None:
    """The shipped weights (float16 storage) load into the model and read a held-out font."""
    _require_fonts()
    from pathlib import Path

    from yomitori.charset import default_charset
    from yomitori.cli import main
    from yomitori.data.chars import CharConfig, render_char
    from yomitori.models.io import read_meta

    weights = Path(__file__).resolve().parents[1] / "src/yomitori/weights/chars_resnet_lines.safetensors"
    meta = read_meta(weights)
    assert meta["charset_sha256"] == default_charset().sha256 and meta["temperature"] > 0
    truth = "読書漢字のカタカナ語"
    paths = []
    for i, ch in enumerate(truth):
        s = render_char(3, i, CharConfig(size_px=96, split="eval", chars=ch, fonts=("BIZ UDMincho",),
                                         source_weights=(("printed", 1.0),)))
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(s.image).save(paths[-1])
    assert main(["predict", str(weights), *map(str, paths), "--top-k", "1"]) == 0
    read = [line.split(": ", 1)[1].split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sum(a == b for a, b in zip(read, truth, strict=True)) >= 9, read
