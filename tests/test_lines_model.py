"""The line recognizer: input preparation, direction paths, overfitting, determinism."""

import numpy as np
import pytest
import torch

from yomitori.models import create_model
from yomitori.recognition.ctc import greedy_decode
from yomitori.recognition.prepare import batch_lines, prepare_line


def test_prepare_line_rotates_vertical_counter_clockwise():
    col = np.full((100, 20), 255, np.uint8)
    col[:10] = 0  # ink at the top of a vertical column
    x = prepare_line(col, vertical=True, height=20)
    assert x.shape == (20, 100)
    assert x[:, :10].mean() > 0.9 and x[:, 20:].mean() < 0.1  # the top went to the left


def test_prepare_line_horizontal_keeps_orientation_and_scales_height():
    row = np.full((40, 200), 255, np.uint8)
    row[:, :20] = 0
    x = prepare_line(row, vertical=False, height=32)
    assert x.shape == (32, 160) and x[:, :16].mean() > 0.9 and x[:, 20:].mean() < 0.1


def test_crop_line_snaps_to_the_ink_across_the_line():
    from yomitori.pipeline.recognize import crop_line, snap_to_ink
    from yomitori.types import BBox, Direction

    page = np.full((300, 400), 240, np.uint8)
    page[110:140, 50:350] = 20  # a horizontal line's ink: rows 110-139
    page[150:300, 200:230] = 20  # a vertical line's ink: columns 200-229
    loose = BBox(40, 95, 360, 146)  # the layout's box: 51 px for 30 px of ink, off-centre
    assert snap_to_ink(page, loose, Direction.HORIZONTAL) == BBox(40, 110, 360, 140)
    crop, box = crop_line(page, loose, Direction.HORIZONTAL)  # margin 0.2 of the ink thickness
    assert box == BBox(34, 104, 366, 146) and crop.shape == (42, 332)
    assert snap_to_ink(page, BBox(190, 150, 245, 290), Direction.VERTICAL) == BBox(200, 150, 230, 290)
    # only shrinks; keeps boxes without contrast and ink bands thinner than half the box
    assert snap_to_ink(page, BBox(50, 112, 350, 130), Direction.HORIZONTAL) == BBox(50, 112, 350, 130)
    blank = BBox(0, 0, 40, 40)
    assert snap_to_ink(page, blank, Direction.HORIZONTAL) == blank
    page[60:64, 50:350] = 20  # a rule of dashes, 4 px inside a 40 px box
    assert snap_to_ink(page, BBox(50, 42, 350, 82), Direction.HORIZONTAL) == BBox(50, 42, 350, 82)
    assert crop_line(page, loose, Direction.HORIZONTAL, snap=False)[1] == BBox(29, 84, 371, 157)


def test_histogram_percentiles_are_numpys_to_the_last_bit():
    from yomitori.recognition.prepare import percentiles_u8

    rng = np.random.default_rng(0)
    for _ in range(300):
        h, w = rng.integers(1, 40, 2)
        a = rng.integers(0, 256, (h, w)).astype(np.uint8)
        if rng.random() < 0.5:  # mostly paper, as crops are
            a[rng.random((h, w)) < 0.9] = 250
        for qs in ((1, 99), (2, 98), (0, 50, 100)):
            assert percentiles_u8(a, qs) == [float(v) for v in np.percentile(a, qs)]


def test_batch_lines_pads_with_paper_and_counts_frames():
    a, b = np.ones((32, 40), np.float32), np.ones((32, 18), np.float32)
    x, frames = batch_lines([a, b])
    assert x.shape == (2, 1, 32, 40) and frames.tolist() == [10, 4]
    assert x[1, 0, :, 18:].sum() == 0


def test_recognizer_batches_stay_within_the_pixel_budget_and_keep_line_order():
    from yomitori.pipeline.recognize import LineRecognizer

    class Recording:  # one frame per 4 columns; frame t says class 1 + (line's mean width % 5)
        meta: dict = {}

        def __init__(self) -> None:
            self.batches: list[tuple[int, ...]] = []

        def __call__(self, x, vertical=None):
            self.batches.append(x.shape)
            n, _, h, w = x.shape
            out = np.full((n, w // 4, 6919), -9.0, np.float32)
            for i in range(n):
                width = int((x[i, 0].sum(axis=0) > 0).sum())  # unpadded columns
                out[i, :, 0] = 5.0
                out[i, 1, 1 + width // 4 % 5] = 9.0
            return out

    rng = np.random.default_rng(0)
    crops = [np.full((32, int(w)), 255, np.uint8) for w in rng.integers(40, 900, 23)]
    for c in crops:
        c[8:24, :] = 0  # ink over the whole width
    budget = 32 * 2048
    small, big = Recording(), Recording()
    a = LineRecognizer(small, max_batch_pixels=budget).recognize(crops, [False] * len(crops))
    b = LineRecognizer(big, max_batch_pixels=10**9).recognize(crops, [False] * len(crops))
    assert len(big.batches) == 1 and len(small.batches) > 3
    assert all(n == 1 or n * h * (w - 3) <= budget for n, _, h, w in small.batches)  # w: padded to 4
    assert [r.text for r in a] == [r.text for r in b]  # each line's own result, in input order
    assert len({r.text for r in a}) > 1


def test_direction_flag_changes_the_output():
    torch.manual_seed(0)
    m = create_model("crnn_tiny", num_classes=20, height=32).eval()
    torch.nn.init.normal_(m.direction.weight)
    x = torch.rand(1, 1, 32, 64)
    with torch.no_grad():
        h, v = m(x, torch.tensor([0])), m(x, torch.tensor([1]))
    assert h.shape == (1, 16, 21) and not torch.allclose(h, v)


def _rendered_lines(n: int):
    from yomitori.charset import default_charset
    from yomitori.data.lines import LineConfig, render_line

    cfg = LineConfig(height_px=32, min_chars=3, max_chars=5, vertical_prob=0.5, text="random")
    try:
        samples = [render_line(7, i, cfg) for i in range(n)]
    except Exception as exc:  # noqa: BLE001 - no Japanese fonts on this machine
        pytest.skip(f"cannot render lines here: {exc}")
    cs = default_charset()
    return samples, cs


def test_tiny_crnn_overfits_a_few_lines():
    samples, cs = _rendered_lines(4)
    assert any(s.vertical for s in samples) and any(not s.vertical for s in samples)
    alphabet = sorted({c for s in samples for c in s.text})  # a tiny charset keeps this test fast
    to_id = {c: i for i, c in enumerate(alphabet)}
    x, frames = batch_lines([prepare_line(s.image, s.vertical, 32) for s in samples])
    x = torch.from_numpy(x)
    vert = torch.tensor([s.vertical for s in samples], dtype=torch.long)
    labels = torch.tensor([to_id[c] + 1 for s in samples for c in s.text])
    lengths = torch.tensor([len(s.text) for s in samples])
    torch.manual_seed(0)
    m = create_model("crnn_tiny", num_classes=len(alphabet), height=32)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(500):
        out = m(x, vert)
        lp = torch.log_softmax(out, -1).transpose(0, 1)
        loss = torch.nn.functional.ctc_loss(lp, labels, torch.from_numpy(frames), lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    m.eval()
    with torch.no_grad():
        out = m(x, vert).numpy()
    got = ["".join(alphabet[i] for i in greedy_decode(out[k], int(frames[k])).ids) for k in range(4)]
    assert got == [s.text for s in samples], f"loss {loss.item():.3f}"


def test_lines_task_training_is_deterministic(tmp_path):
    from yomitori.train.config import TrainConfig
    from yomitori.train.lines_task import LinesTask
    from yomitori.train.loop import fit, seed_everything

    _rendered_lines(1)
    results = []
    for run in range(2):
        cfg = TrainConfig(task="lines", model="crnn_tiny", epochs=1, batch_size=4, test_batch_size=4,
                          limit_train=8, limit_test=4, optimizer="adamw", out=str(tmp_path / f"r{run}"),
                          logger="none", progress="off", seed=5)
        task = LinesTask(height=32, max_chars=6)
        seed_everything(cfg.seed)
        model = create_model("crnn_tiny", **task.model_kwargs())
        res = fit(cfg, task, model)
        results.append((res["final"]["train_loss"], [p.detach().clone() for p in res["model"].parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1], strict=True))


def test_collate_shifts_labels_past_the_blank():
    # CTC class 0 is the blank; charset index i must be class i + 1 (what the decoders undo)
    from yomitori.train.lines_task import collate_lines

    item = (np.zeros((32, 8), np.float32), [0, 5], False, " x")
    _, target = collate_lines([item])
    assert target["labels"].tolist() == [1, 6]


def test_line_evaluation_warns_when_the_corpus_is_missing(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from yomitori.recognition.evaluate import evaluate_lines

    class Blank:  # reads nothing: every reference character is an error
        def recognize(self, images, vertical):
            return [SimpleNamespace(text="") for _ in images]

    monkeypatch.setenv("YOMITORI_CORPUS", str(tmp_path))  # an empty folder: no corpus built
    try:
        res = evaluate_lines(Blank(), per_condition=1, tesseract=False)
    except Exception as exc:  # noqa: BLE001 - no evaluation fonts on this machine
        pytest.skip(f"cannot render lines here: {exc}")
    assert res["text"].startswith("random characters")
    assert "yomitori data corpus" in capsys.readouterr().err
    assert res["horizontal/clean"]["yomitori"]["cer"] == 1.0


def test_line_evaluation_can_add_tex_to_its_horizontal_lines(monkeypatch):
    from types import SimpleNamespace

    from yomitori.recognition.evaluate import evaluate_lines

    class Echo:  # reads nothing, but keeps what it was shown
        def __init__(self):
            self.widths = []

        def recognize(self, images, vertical):
            self.widths += [im.shape[1] for im, v in zip(images, vertical, strict=True) if not v]
            return [SimpleNamespace(text="") for _ in images]

    plain, tex = Echo(), Echo()
    try:
        a = evaluate_lines(plain, per_condition=6, tesseract=False)
        b = evaluate_lines(tex, per_condition=6, tesseract=False, tex_prob=1.0, latin_font_prob=1.0)
    except Exception as exc:  # noqa: BLE001 - no evaluation fonts on this machine
        pytest.skip(f"cannot render lines here: {exc}")
    # every reference character is an error (CER 1), so the references grew by the snippets
    assert b["horizontal/clean"]["yomitori"]["chars"] > a["horizontal/clean"]["yomitori"]["chars"]
    assert b["vertical/clean"]["yomitori"]["chars"] == a["vertical/clean"]["yomitori"]["chars"]
    assert sum(tex.widths) > sum(plain.widths)
