"""bench/bench_read.py: the scores, the table and one tiny synthetic page through the whole loop."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from yomitori.errors import UserError
from yomitori.pipeline.engine import NullEngine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_read", ROOT / "bench" / "bench_read.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_read"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_read", None)


def test_white_space_and_width_are_normalised_away(bench):
    assert bench.canon("日 本\u3000語\n\tＡＢ１ ｶﾞ") == "日本語AB1ガ"
    assert bench.canon("Bib\u200cT\u200bE\ufeffX") == "BibTEX"  # invisible format characters
    # Tesseract's spaces between Japanese characters cost nothing
    assert bench.score_page("東 京 都 ", "東京都")["edits"] == 0


def test_known_string_pairs(bench):
    s = bench.score_page("東京府に住む", "東京都に住む")
    assert (s["edits"], s["chars"], s["order_free_edits"]) == (1, 6, 1)
    assert s["cer"] == pytest.approx(1 / 6, abs=1e-5)
    swapped = bench.score_page("いろはにほへと", "ほへといろはに")  # same characters, other order
    assert swapped["edits"] == 6 and swapped["order_free_edits"] == 0
    assert bench.score_page("", "あい")["edits"] == 2 and bench.score_page("あいう", "")["cer"] == 3.0
    g = bench.group_score([bench.score_page("あいう", "あいえ"), bench.score_page("かき", "かきく")])
    assert g["chars"] == 6 and g["cer"] == pytest.approx(2 / 6) and g["order_free_cer"] == pytest.approx(2 / 6)


def test_table(bench):
    results = {
        "groups": [{"kind": "vertical", "quality": "degraded", "pages": 2,
                    "yomitori": {"cer": 0.125, "order_free_cer": 0.1, "chars": 800, "seconds": 3.0},
                    "tesseract": {"cer": 0.25, "order_free_cer": 0.2, "chars": 800, "lang": "jpn+jpn_vert",
                                  "seconds": 9.0, "seconds_net": 8.0}}],
        "speed": {"pages": 2, "yomitori_pages_per_s": 2 / 3.0, "tesseract_pages_per_s": 2 / 8.0, "ratio": 8 / 3},
        "backend": "onnxruntime", "yomitori_load_s": 0.5, "tesseract_load_s": {"jpn+jpn_vert": 0.5},
        "pdf": {"yomitori": {"clean": {"cer": 0.1, "seconds": 2.0, "pages": 1},
                             "degraded": {"cer": 0.2, "seconds": 2.0, "pages": 1}},
                "ocrmypdf": {"skipped": "ocrmypdf is not installed"}},
    }
    table = bench.format_table(results)
    assert ("| synthetic vertical / degraded | 2 | 800 | 12.50 % | 25.00 % | jpn+jpn_vert | 10.00 % | 20.00 % "
            "| 1.50 | 4.00 |") in table
    assert "yomitori / Tesseract = 2.67×" in table
    assert "| `yomitori read --format pdf` (models loaded) | 10.00 % | 20.00 % | 4.0 | 0.500 |" in table
    assert "skipped: ocrmypdf is not installed" in table


def test_one_tiny_synthetic_page_through_the_loop(bench, tmp_path):
    try:
        pages = bench.synthetic_pages(("horizontal",), 1, dpi=72, sizes=("B5",), qualities=("clean",))
    except UserError as exc:  # no evaluation fonts installed
        pytest.skip(str(exc))
    assert len(pages) == 1 and len(bench.canon(pages[0].reference)) > 50
    assert pages[0].image.shape == (729, 516)  # B5 at 72 dpi
    use_tess = bench.tesseract_available()
    results = bench.run_bench(pages, engine=NullEngine(), tesseract=use_tess, tmp=tmp_path)
    (group,) = results["groups"]
    assert group["yomitori"]["cer"] == 1.0  # the null engine reads nothing: every character is missed
    assert group["yomitori"]["chars"] == len(bench.canon(pages[0].reference))
    if use_tess:
        assert group["tesseract"]["lang"] == "jpn" and group["tesseract"]["cer"] >= 0
        assert results["speed"]["ratio"] > 0
    assert "| synthetic horizontal / clean | 1 |" in bench.format_table(results)
