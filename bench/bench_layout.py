"""Layout benchmark: held-out synthetic pages, CPU time per page, real PDFs next to Tesseract.

    .venv/bin/python bench/bench_layout.py --pages 150 --real 12 --tesseract --json bench/layout.json

1. **Synthetic, held out**: pages rendered fresh (``--seed``, not a seed used in training) in the
   evaluation fonts (BIZ UD, Motoya, Dejima; Klee One and Yusei Magic for handwriting) and the
   evaluation documents of the corpus, half of them degraded like scans. Scores: see
   :mod:`yomitori.layout.evaluate`.
2. **CPU time per page**: ``time.process_time()`` of the whole stage (resize to the working
   resolution, network on the chosen backend with ``--threads``, post-processing, reading order,
   table grids), so it counts every thread.
3. **Real PDFs**: evaluation-split HTML of the corpus (Debian FAQ, GIMP help, developers'
   reference; never trained on) printed to PDF by headless Chromium in the held-out BIZ UD fonts,
   horizontally and vertically (CSS ``writing-mode: vertical-rl``), rendered at 200 dpi and
   degraded like a scan. True lines come from the PDF's text layer (pdfium character boxes
   grouped into lines); Tesseract's hOCR ``ocr_line`` boxes are scored the same way in the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from yomitori.data.page_store import EVAL_CONFIG, scale_record
from yomitori.data.pages import render_page
from yomitori.layout.evaluate import LayoutScore
from yomitori.layout.maps import NUM_CLASSES, page_targets
from yomitori.layout.metrics import f1, match_boxes, pixel_iou
from yomitori.pipeline.layout import (
    DEFAULT_WEIGHTS,
    layout_from_maps,
    load_layout_model,
    predict_maps,
)

KINDS = ("vertical", "horizontal", "mixed", "form")
REAL_DOCS = (  # evaluation-split documents of the corpus (yomitori.data.corpus), package-relative
    "debian-faq-ja/usr/share/doc/debian/FAQ/ja/basic-defs.ja.html",
    "debian-faq-ja/usr/share/doc/debian/FAQ/ja/index.ja.html",
    "gimp-help-ja/usr/share/gimp/2.0/help/ja/gimp-using-script-fu-tutorial-first-script.html",
    "gimp-help-ja/usr/share/gimp/2.0/help/ja/gimp-dialogs-structure.html",
    "developers-reference-ja/usr/share/developers-reference/ja/new-maintainer.html",
)
CSS = {
    "horizontal": "body{font-family:'BIZ UDGothic';font-size:10.5pt;line-height:1.6}",
    "vertical": "html{writing-mode:vertical-rl} body{font-family:'BIZ UDMincho';font-size:11pt;line-height:1.7}",
}


def synthetic(model, n: int, seed: int, long_side: int) -> tuple[dict, list[float]]:
    score, times = LayoutScore(), []
    for i in range(n):
        s = render_page(seed, i, EVAL_CONFIG)
        t0 = time.process_time()
        maps, factors = predict_maps(s.image, model, long_side)
        regions, lines, order = layout_from_maps(s.image, maps, factors)
        times.append(time.process_time() - t0)
        gt = s.to_dict()
        score.add_page(gt, regions, lines, order, s.kind)
        sx, sy = factors[0] * 2, factors[1] * 2  # page -> working pixels
        small = scale_record(gt, sx, sy)
        t = page_targets(round(s.image.shape[0] * sy), round(s.image.shape[1] * sx), small["regions"], small["lines"])
        hh, ww = min(t["classes"].shape[0], maps.shape[1]), min(t["classes"].shape[1], maps.shape[2])
        score.add_pixels(*pixel_iou(maps[:NUM_CLASSES, :hh, :ww].argmax(0), t["classes"][:hh, :ww], NUM_CLASSES))
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{n} pages", file=sys.stderr, flush=True)
    return score.summary(KINDS), times


# ---------------------------------------------------------------------- real PDFs


def make_pdf(html: Path, mode: str, out: Path) -> Path | None:
    src = html.read_text(encoding="utf-8", errors="replace")
    css = f"<style>{CSS[mode]} img{{display:none}}</style>"
    page = out / f"{html.stem}.{mode}.html"
    page.write_text(src.replace("</head>", css + "</head>", 1) if "</head>" in src else css + src, encoding="utf-8")
    pdf = page.with_suffix(".pdf")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        return None
    subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=180, check=False)
    return pdf if pdf.exists() else None


def pdf_lines(textpage, height_pt: float, scale: float, vertical: bool) -> list[list[float]]:
    """Lines from the text layer: characters grouped in text order while they stay on one line."""
    lines: list[list[float]] = []
    cur: list[float] | None = None
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch.strip():
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        b = [left * scale, (height_pt - top) * scale, right * scale, (height_pt - bottom) * scale]
        if cur is not None:
            size = cur[2] - cur[0] if vertical else cur[3] - cur[1]
            across = (min(b[2], cur[2]) - max(b[0], cur[0])) if vertical else (min(b[3], cur[3]) - max(b[1], cur[1]))
            gap = (b[1] - cur[3]) if vertical else (b[0] - cur[2])
            if across > 0.5 * min(size, (b[2] - b[0]) if vertical else (b[3] - b[1])) and -0.3 * size < gap < 1.5 * size:
                cur[:] = [min(cur[0], b[0]), min(cur[1], b[1]), max(cur[2], b[2]), max(cur[3], b[3])]
                continue
            lines.append(cur)
        cur = b
    if cur is not None:
        lines.append(cur)
    return [b for b in lines if b[2] - b[0] > 2 and b[3] - b[1] > 2]


def tesseract_lines(gray: np.ndarray, lang: str, tmp: Path) -> tuple[list[list[float]], float]:
    from PIL import Image

    img = tmp / "page.png"
    Image.fromarray(gray).save(img)
    t0 = time.time()
    subprocess.run(["tesseract", str(img), str(tmp / "out"), "-l", lang, "--psm", "3", "hocr"],
                   capture_output=True, timeout=600, check=False)
    hocr = (tmp / "out.hocr").read_text(encoding="utf-8") if (tmp / "out.hocr").exists() else ""
    boxes = [[float(v) for v in m.groups()] for m in
             re.finditer(r"class='ocr_(?:line|caption|header|textfloat)'[^>]*title=\"bbox (\d+) (\d+) (\d+) (\d+)", hocr)]
    return boxes, time.time() - t0


def draw_prediction(gray: np.ndarray, regions, lines, order, out: Path, long_side: int = 760) -> None:
    """Save a picture of the predicted regions, lines and reading order (palette PNG, small)."""
    from yomitori.layout.draw import draw_layout

    pic = draw_layout(gray, [(r.cls, r.bbox) for r in regions], [(ln.bbox, ln.direction) for ln in lines],
                      [i for ri in order for i in regions[ri].lines], long_side / max(gray.shape))
    out.parent.mkdir(parents=True, exist_ok=True)
    pic.quantize(colors=32).save(out, optimize=True)


def gallery(model, out_dir: Path, seed: int, long_side: int) -> list[str]:
    """One held-out synthetic page of each kind with its predicted layout drawn over it."""
    written = []
    for kind in KINDS:
        s = render_page(seed, 1000 + KINDS.index(kind), replace(EVAL_CONFIG, kinds=((kind, 1.0),)))
        maps, factors = predict_maps(s.image, model, long_side)
        regions, lines, order = layout_from_maps(s.image, maps, factors)
        path = out_dir / f"layout_{kind}.png"
        draw_prediction(s.image, regions, lines, order, path)
        written.append(str(path))
    return written


def real_pdfs(model, max_pages: int, use_tesseract: bool, long_side: int, gallery_dir: Path | None = None) -> dict:
    import pypdfium2 as pdfium

    from yomitori.data.corpus import corpus_dir
    from yomitori.data.degrade import DEFAULT_PROBS, degrade

    root = corpus_dir() / "debs"
    counts: dict[str, float] = {}
    tess = bool(use_tesseract and shutil.which("tesseract"))
    rng = np.random.default_rng(0)
    pages_done = {"horizontal": 0, "vertical": 0}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for mode in ("horizontal", "vertical"):
            for doc in REAL_DOCS:
                if pages_done[mode] >= max_pages // 2:
                    break
                html = root / doc
                pdf = make_pdf(html, mode, tmp) if html.exists() else None
                if pdf is None:
                    continue
                document = pdfium.PdfDocument(str(pdf))
                for pno in range(min(len(document), 2)):
                    if pages_done[mode] >= max_pages // 2:
                        break
                    page = document[pno]
                    scale = 200 / 72
                    gray = np.asarray(page.render(scale=scale, grayscale=True).to_pil().convert("L"))
                    truth = pdf_lines(page.get_textpage(), page.get_height(), scale, mode == "vertical")
                    if len(truth) < 5:
                        continue
                    gray = degrade(gray, rng, 0.5, probs=dict(DEFAULT_PROBS, rotate=0.0, perspective=0.0)).image
                    maps, factors = predict_maps(gray, model, long_side)
                    regions, lines, order = layout_from_maps(gray, maps, factors)
                    if gallery_dir is not None and pages_done[mode] == 0:
                        draw_prediction(gray, regions, lines, order, gallery_dir / f"layout_real_{mode}.png")
                    pairs = match_boxes(truth, [ln.bbox for ln in lines])
                    _add(counts, f"{mode}/ours", len(pairs), len(lines), len(truth))
                    _add(counts, f"{mode}/ours_dir", sum(lines[p].direction == mode for _, p in pairs), 0, 0)
                    if tess:
                        lang = "jpn_vert" if mode == "vertical" else "jpn"
                        boxes, secs = tesseract_lines(gray, lang, tmp)
                        _add(counts, f"{mode}/tesseract", len(match_boxes(truth, boxes)), len(boxes), len(truth))
                        counts[f"{mode}/tesseract_s"] = counts.get(f"{mode}/tesseract_s", 0.0) + secs
                    pages_done[mode] += 1
    out: dict = {"pages": pages_done, "docs": list(REAL_DOCS), "dpi": 200}
    for mode in ("horizontal", "vertical"):
        for who in ("ours", "tesseract"):
            k = f"{mode}/{who}"
            if k + "_gt" in counts:
                out[k] = {m: round(v, 4) for m, v in f1(counts[k + "_tp"], counts[k + "_pred"], counts[k + "_gt"]).items()}
        if f"{mode}/ours_dir_tp" in counts and f"{mode}/ours_tp" in counts:
            out[f"{mode}/ours"]["direction_accuracy"] = round(counts[f"{mode}/ours_dir_tp"] / max(counts[f"{mode}/ours_tp"], 1), 4)
        if f"{mode}/tesseract_s" in counts:
            out[f"{mode}/tesseract"]["wall_s_per_page"] = round(counts[f"{mode}/tesseract_s"] / max(pages_done[mode], 1), 2)
    return out


def _add(counts: dict[str, float], key: str, tp: float, pred: float, gt: float) -> None:
    for suffix, v in (("_tp", tp), ("_pred", pred), ("_gt", gt)):
        counts[key + suffix] = counts.get(key + suffix, 0.0) + v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    p.add_argument("--backend", default="torch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pages", type=int, default=100, help="held-out synthetic pages")
    p.add_argument("--seed", type=int, default=8, help="page stream (training used 1, model selection 7)")
    p.add_argument("--real", type=int, default=0, help="real PDF pages (half horizontal, half vertical)")
    p.add_argument("--tesseract", action="store_true", help="score Tesseract's hOCR lines on the real pages")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--gallery", help="folder for pictures of predicted layouts (docs/img)")
    a = p.parse_args(argv)
    model = load_layout_model(a.backend, threads=a.threads, weights=a.weights)
    long_side = int(model.meta.get("working_long_side", 768))
    result: dict = {"weights": Path(a.weights).name, "backend": a.backend, "threads": a.threads,
                    "working_long_side": long_side, "seed": a.seed,
                    "eval_config": repr(replace(EVAL_CONFIG))}
    if a.pages:
        summary, times = synthetic(model, a.pages, a.seed, long_side)
        result["synthetic"] = summary
        t = np.array(times[1:] or times)  # the first page warms caches up
        result["cpu_s_per_page"] = {"mean": round(float(t.mean()), 3), "median": round(float(np.median(t)), 3),
                                    "p90": round(float(np.percentile(t, 90)), 3), "max": round(float(t.max()), 3)}
    gdir = Path(a.gallery) if a.gallery else None
    if a.real:
        result["real_pdfs"] = real_pdfs(model, a.real, a.tesseract, long_side, gdir)
    if gdir is not None:
        result["gallery"] = gallery(model, gdir, a.seed, long_side)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
