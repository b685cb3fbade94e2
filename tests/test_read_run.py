"""The pipeline end to end with a fixed engine: API, streaming, figures, workers, failing pages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import yomitori
from test_read_helpers import build_pdf, hline, image_pdf, region, vline
from yomitori.document import Page, Region
from yomitori.errors import UserError
from yomitori.pipeline.engine import FixedEngine, ModelEngine, NullEngine
from yomitori.pipeline.run import read_iter
from yomitori.types import BBox, Direction, PageImage, RegionClass

DPI = 72.0  # image_pdf pages are 120 × 160 pt: 120 × 160 px at 72 dpi


def fixed_engine(**kw) -> FixedEngine:
    pages = {n: [region(RegionClass.TEXT, [hline(f"{n}ページ目", 10, 10, 10), hline("二行目", 10, 30, 10)])]
             for n in (1, 2, 3)}
    pages[3].append(Region(RegionClass.FIGURE, BBox(10, 60, 70, 120), Direction.HORIZONTAL))
    pages[3].append(region(RegionClass.CAPTION, [hline("図", 10, 125, 10)]))
    return FixedEngine(pages, dpi=DPI, **kw)


class CountingEngine(NullEngine):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def process(self, image: PageImage) -> Page:
        self.seen.append(image.page_number)
        return super().process(image)


class CrashingEngine(FixedEngine):
    """Kills its worker process on page 2 (a segfault in a decoder, say)."""

    def process(self, image: PageImage) -> Page:
        if image.page_number == 2:
            os._exit(3)
        return super().process(image)


def test_read_returns_a_document_and_writes_outputs(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "doc.pdf", 3)
    out = tmp_path / "out" / "doc"
    doc = yomitori.read(pdf, output=out, formats="txt,json,md,pdf", dpi=144, engine=fixed_engine())
    assert [p.number for p in doc.pages] == [1, 2, 3] and not any(p.error for p in doc.pages)
    assert doc.pages[0].regions[0].lines[0].bbox == BBox(20, 20, 120, 40)  # scaled 72 → 144 dpi
    assert (tmp_path / "out" / "doc.txt").read_text(encoding="utf-8").split("\f")[0] == "1ページ目\n二行目\n"
    data = json.loads((tmp_path / "out" / "doc.json").read_text(encoding="utf-8"))
    assert data["metadata"]["engine"] == "fixed" and len(data["pages"]) == 3
    figure = tmp_path / "out" / "doc_figures" / "page-0003-figure-1.png"
    assert figure.is_file() and data["pages"][2]["regions"][1]["image"] == "doc_figures/page-0003-figure-1.png"
    assert "![図](doc_figures/page-0003-figure-1.png)" in (tmp_path / "out" / "doc.md").read_text(encoding="utf-8")
    from PIL import Image

    assert Image.open(figure).size == (120, 120)  # the 60 × 60 px box at 144 dpi
    assert oct((tmp_path / "out" / "doc.pdf").stat().st_mode & 0o777) != oct(0o600)


def test_pages_stream_one_at_a_time(tmp_path: Path) -> None:
    engine = CountingEngine()
    results = read_iter(image_pdf(tmp_path / "p.pdf", 3), engine=engine, dpi=DPI)
    first = next(results)
    assert first.page.number == 1 and engine.seen == [1]  # page 2 not rendered yet
    assert [r.page.number for r in results] == [2, 3]


def test_workers_give_the_same_document(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "p.pdf", 3)
    one = yomitori.read(pdf, engine=fixed_engine(), dpi=DPI, workers=1)
    two = yomitori.read(pdf, engine=fixed_engine(fail_pages={2}), dpi=DPI, workers=2)
    assert two.pages[1].error == "RuntimeError: injected failure on page 2"
    assert [p.to_dict() for p in two.pages[::2]] == [p.to_dict() for p in one.pages[::2]]


def test_a_crashed_worker_fails_only_its_pages(tmp_path: Path) -> None:
    pdf = image_pdf(tmp_path / "p.pdf", 3)
    doc = yomitori.read(pdf, engine=CrashingEngine(fixed_engine().pages, dpi=DPI), dpi=DPI, workers=2)
    assert "died" in doc.pages[1].error
    assert doc.pages[2].error is None or "died" in doc.pages[2].error  # it may have been in flight
    assert doc.pages[0].error is None or "died" in doc.pages[0].error
    assert sum(p.error is None for p in doc.pages) >= 1


def test_page_that_cannot_render_fails_alone(tmp_path: Path) -> None:
    kids = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % size
            for size in ((100, 100), (20_000, 20_000), (100, 50))]
    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>", *kids]))
    doc = yomitori.read(pdf, engine=NullEngine(), dpi=DPI)
    assert doc.pages[1].error == ("at 72 dpi it would be 20,000 × 20,000 pixels, over the limit of "
                                  "100,000,000; lower --dpi")
    assert [(p.width_px, p.height_px) for p in doc.pages] == [(100, 100), (0, 0), (100, 50)]


def test_fixed_engine_replays_a_recorded_document(tmp_path: Path) -> None:
    recorded = yomitori.read(image_pdf(tmp_path / "p.pdf", 2), engine=fixed_engine(), dpi=DPI)
    path = tmp_path / "rec.json"
    path.write_text(json.dumps(recorded.to_dict(), ensure_ascii=False), encoding="utf-8")
    replay = yomitori.read(tmp_path / "p.pdf", engine=FixedEngine.from_json(path), dpi=2 * DPI)
    assert replay.pages[1].regions[0].lines[0].bbox == BBox(20, 20, 120, 40)
    assert replay.pages[1].regions[0].lines[0].text == "2ページ目"


def test_model_engine_without_models_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import sys

    monkeypatch.setitem(sys.modules, "yomitori.pipeline.layout", None)  # import fails
    with pytest.raises(UserError, match="reading models are not available"):
        ModelEngine().prepare()
    with pytest.raises(UserError, match="reading models are not available"):
        yomitori.read(image_pdf(tmp_path / "p.pdf", 1), engine=ModelEngine())


def test_vertical_regions_scale_with_dpi() -> None:
    engine = FixedEngine({1: [region(RegionClass.TEXT, [vline("縦", 50, 10, 20)])]}, dpi=100)
    import numpy as np

    page = engine.process(PageImage(np.zeros((400, 300), np.uint8), 200.0, 1))
    line = page.regions[0].lines[0]
    assert line.bbox == BBox(100, 20, 140, 60) and line.chars[0].bbox == BBox(100, 20, 140, 60)


@pytest.mark.slow
def test_500_pages_stream_in_bounded_memory(tmp_path: Path) -> None:
    """500 A4 pages at 100 dpi (~1 MB each: 500 MB if held) read into txt + searchable PDF."""
    import subprocess
    import sys

    image = b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray " \
            b"/BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    content = b"<< /Length 37 >>\nstream\nq 595 0 0 842 0 0 cm /Im0 Do Q     \nendstream"
    n = 500
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(n))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R " \
           b"/Resources << /XObject << /Im0 3 0 R >> >> >>"
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n), image, content,
                               *[page] * n]))
    code = ("import resource, sys; from yomitori.cli import main; "
            "rc = main(['read', sys.argv[1], '--engine', 'null', '--dpi', '100', '-q', '-o', sys.argv[2], "
            "'--format', 'txt,pdf']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(pdf), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stdout.split()[-1])
    assert peak_mb < 400, f"peak RSS {peak_mb} MB"
    assert (tmp_path / "out.txt").read_text().count("\f") == n - 1
