"""Reading benchmark: ``yomitori read`` against Tesseract (and OCRmyPDF), quality and speed, one run.

    .venv/bin/python bench/bench_read.py --pages-per-kind 4 --json-out bench/read.json
    .venv/bin/python bench/bench_read.py --quick                 # smoke run, well under a minute
    .venv/bin/python bench/bench_read.py --seed 5000 --real-set selection --real-pages 16 \
        --pages-per-kind 6 --no-tesseract --no-ocrmypdf          # the selection pages (choose settings here)

Pages (all at 300 dpi by default, each clean and scan-degraded):

1. **Synthetic, held out**: pages from the project's page engine (:mod:`yomitori.data.pages`,
   ``split="eval"``: evaluation-only fonts and evaluation documents, never trained on), fixed
   seed, of three kinds: ``horizontal`` (title over columns, headings, figures, ruled tables),
   ``vertical`` (tategaki bands read right to left) and ``mixed`` (a vertical body with a
   horizontal title and tables, or the reverse). The degraded copy is the same page (same seed
   and index) through the engine's scan degradation (skew ≤ 0.4°, paper, blur, noise, JPEG...,
   strength 0.6). Furigana is turned off: Tesseract has no notion of ruby, and the bench measures
   reading, not ruby handling. Truth: the page's lines in reading order, as ``txt`` would write them.
2. **Real PDFs**: the Japanese documentation in Debian's ``texlive-lang-japanese`` (reserved for
   independent evaluation, never trained or tuned on). The bench fetches it itself
   (``apt-get download`` + ``dpkg-deb -x`` into ``~/.cache/yomitori/texlive-lang-japanese``),
   takes a fixed list of pages that are mostly Japanese prose (:data:`REAL_PAGES`, chosen by
   :func:`select_real_pages`: highest fraction of Japanese characters in ``pdftotext`` output,
   one page per package, ``--list-real`` prints the ranking), rasterises them with PDFium to
   image-only pages, clean and degraded (:func:`yomitori.data.degrade.degrade`, fixed seed).
   Truth: the PDF's own text layer (``pdftotext``).

Scores: CER = edit distance / reference length, per group of pages (total edits / total
characters, :func:`yomitori.recognition.metrics.cer`), after NFKC and removing all white space on
both sides (Tesseract puts spaces between Japanese characters). The **order-free** CER counts
only characters missing or extra (multiset difference): the gap between the two is what reading
order costs.

Engines, each on one thread: yomitori through its Python API (``yomitori.read`` on a multi-page
TIFF, ``workers=1``, a ``ModelEngine`` with runtime threads 1 and ``torch.set_num_threads(1)``,
models loaded once, load time reported apart); Tesseract (CLI, one process per group reading the
same TIFF, ``OMP_THREAD_LIMIT=1``; its start-up and model load is measured on a blank page and
subtracted). Tesseract's language is the best of ``jpn`` / ``jpn_vert`` / ``jpn+jpn_vert`` per
kind (:data:`TESS_LANG`, measured on other pages, psm 3): ``jpn`` for horizontal and real pages
(``jpn+jpn_vert`` gave the same CER there at about 3× the time), ``jpn+jpn_vert`` for vertical and
mixed ones (``jpn_vert`` alone: 1-4 points worse; ``jpn``: unusable). ``--tess-lang`` forces one.

Searchable PDF (real pages only): an image-only PDF of the pages (written by yomitori's own PDF
writer with the null engine: lossless, no text) made searchable by ``yomitori.read(...,
formats=["pdf"])`` and by ``ocrmypdf -l jpn --jobs 1 --output-type pdf --optimize 0`` (no PDF/A
conversion and no optimisation, which yomitori does not do either); CER of ``pdftotext`` of each
output. OCRmyPDF's time is its command's wall time (start-up and a Tesseract process per page
included, as a user sees it). OCRmyPDF and Ghostscript are not default dependencies: ``pip install
-e '.[bench]'`` and ``apt-get install ghostscript``; without them that part is skipped, with the reason.

Wall times on a shared machine are noisy: run with nothing else on the cores for clean speed figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from yomitori.recognition.metrics import cer, edit_distance  # noqa: E402

SEED = 20261207  # page stream of the synthetic part (any seed: the eval split holds fonts and text out)
DPI = 300
DEGRADE_STRENGTH = 0.6  # as the project's layout and line evaluations
KINDS = ("horizontal", "vertical", "mixed")
ALL_KINDS = ("horizontal", "vertical", "mixed", "form")  # the page engine's; fixes each kind's page indices
QUALITIES = ("clean", "degraded")
TESS_LANG = {"horizontal": "jpn", "vertical": "jpn+jpn_vert", "mixed": "jpn+jpn_vert", "real": "jpn"}
TEXLIVE_PACKAGE = "texlive-lang-japanese"
DOC_ROOT = "usr/share/doc/texlive-doc"
# Pinned real pages (PDF relative to DOC_ROOT, 1-based page), the ranking of select_real_pages on
# texlive-lang-japanese 2022.20230122-1: one page per package, most Japanese first.
REAL_PAGES = (
    ("ptex/ptex-manual/jtex_asciimw.pdf", 8),
    ("latex/lshort-japanese/jlshort.pdf", 31),
    ("latex/pbibtex-manual/jbtxhak.pdf", 5),
    ("support/mendex-doc/mendex.pdf", 8),
    ("uplatex/base/upldoc.pdf", 56),
    ("platex/pxchfon/pxchfon.pdf", 20),
    ("texlive/texlive-ja/texlive-ja.pdf", 41),
    ("latex/endnotesj/endnotesj-ja.pdf", 1),
)
# documents that show ruby, kanbun or vertical samples rather than prose
REAL_EXCLUDE = ("rubrica", "ruby", "kanbun", "sample", "test", "example", "jlreq")


class Skip(Exception):
    """A part of the bench that cannot run here; the message says why."""


# ------------------------------------------------------------------------------ text and scores
def canon(text: str) -> str:
    """NFKC, all white space and invisible format characters removed: how both sides are compared.

    The format characters (Unicode category Cf) are the zero-width non-joiners pdftotext leaves
    in some TeX-made references (180 on the selection pages), which no page image shows.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def order_free_edits(hyp: str, ref: str) -> int:
    """Edits needed if order did not matter: max(len) minus the characters both share (multiset)."""
    common = sum((Counter(hyp) & Counter(ref)).values())
    return max(len(hyp), len(ref)) - common


def score_page(hyp: str, ref: str) -> dict[str, Any]:
    """Scores of one page's text (both canonicalised here)."""
    h, r = canon(hyp), canon(ref)
    return {"edits": edit_distance(h, r), "order_free_edits": order_free_edits(h, r), "chars": len(r),
            "hyp_chars": len(h), "cer": round(cer([h], [r]), 5)}


def group_score(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Corpus CER of a group: total edits / total reference characters."""
    chars = sum(p["chars"] for p in pages)
    return {"cer": sum(p["edits"] for p in pages) / max(chars, 1),
            "order_free_cer": sum(p["order_free_edits"] for p in pages) / max(chars, 1), "chars": chars}


# ------------------------------------------------------------------------------ pages
@dataclass
class BenchPage:
    kind: str  # horizontal | vertical | mixed | real
    quality: str  # clean | degraded
    source: str
    image: np.ndarray  # (H, W) uint8
    dpi: int
    reference: str


def truth_text(sample: Any) -> str:
    """A synthetic page's text in reading order, regions and lines as ``txt`` writes them."""
    from yomitori.pipeline.assemble import SKIP_IN_TEXT

    return "\n".join(sample.lines[i].text for r in sample.regions if r.cls not in SKIP_IN_TEXT for i in r.lines)


def synthetic_pages(kinds: tuple[str, ...], n: int, seed: int = SEED, dpi: int = DPI,
                    strength: float = DEGRADE_STRENGTH, sizes: tuple[str, ...] = ("A4",),
                    qualities: tuple[str, ...] = QUALITIES) -> list[BenchPage]:
    """``n`` held-out pages per kind, each clean and degraded (the same page: same seed and index)."""
    from yomitori.data.pages import PageConfig, render_page

    base = PageConfig(split="eval", dpi=(dpi, dpi), sizes=sizes, furigana_prob=0.0, degrade_strength=strength)
    out: list[BenchPage] = []
    for kind in kinds:
        for i in range(n):
            index = 1000 * ALL_KINDS.index(kind) + i  # distinct text per kind, the same pages whatever --kinds
            ref = None
            for quality in qualities:
                cfg = dataclasses.replace(base, kinds=((kind, 1.0),), degrade_prob=float(quality == "degraded"))
                s = render_page(seed, index, cfg)
                text = truth_text(s)
                assert ref is None or text == ref, "clean and degraded pages differ"
                ref = text
                out.append(BenchPage(kind, quality, f"seed {seed} index {index} ({s.params['body_font']})",
                                     s.image, s.dpi, text))
    return out


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "yomitori" / TEXLIVE_PACKAGE


def ensure_texlive(cache: Path | None = None) -> Path:
    """The unpacked package (its root), fetched with apt-get and dpkg-deb the first time."""
    cache = cache or cache_dir()
    root = cache / "root"
    if (root / DOC_ROOT).is_dir():
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise Skip(f"{tool} not found: fetch the Debian package {TEXLIVE_PACKAGE} by hand and unpack it "
                       f"with 'dpkg-deb -x <deb> {root}'")
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{TEXLIVE_PACKAGE}_*.deb"))
    if not debs:
        print(f"fetching {TEXLIVE_PACKAGE} (about 78 MB) into {cache} ...", file=sys.stderr, flush=True)
        got = subprocess.run(["apt-get", "download", TEXLIVE_PACKAGE], cwd=cache, capture_output=True, text=True)
        debs = sorted(cache.glob(f"{TEXLIVE_PACKAGE}_*.deb"))
        if not debs:
            raise Skip(f"'apt-get download {TEXLIVE_PACKAGE}' failed: {got.stderr.strip()[-300:]}")
    tmp = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    got = subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], capture_output=True, text=True)
    if got.returncode:
        shutil.rmtree(tmp, ignore_errors=True)
        raise Skip(f"dpkg-deb -x {debs[-1].name} failed: {got.stderr.strip()[-300:]}")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root


def pdftotext(pdf: Path, page: int | None = None) -> list[str]:
    """Text of a PDF (or one page) per page, through poppler's pdftotext (reading order, no layout)."""
    if shutil.which("pdftotext") is None:
        raise Skip("pdftotext not found (apt-get install poppler-utils)")
    cmd = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    pages = out.split("\f")
    return pages[:-1] if len(pages) > 1 and not pages[-1].strip() else pages


def _chosen_by(text: str) -> str:
    """The text the page choices (:func:`select_real_pages`, :func:`selection_real_pages`) count:
    NFKC without white space, as when the pages were chosen (kept apart from :func:`canon`, so
    that scoring fixes never change which pages are read)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def japanese_fraction(text: str) -> float:
    """Share of kana, kanji and 、。ー among the non-space characters of ``text``."""
    s = _chosen_by(text)
    ja = sum(1 for c in s if "\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or c in "、。")
    return ja / max(len(s), 1)


def select_real_pages(root: Path, min_chars: int = 700) -> list[tuple[float, int, str, int]]:
    """Rank (fraction Japanese, chars, pdf, page) for the best page of each package, best first."""
    best: dict[str, tuple[float, int, str, int]] = {}
    docs = root / DOC_ROOT
    for pdf in sorted(docs.rglob("*.pdf")):
        rel = str(pdf.relative_to(docs))
        if any(x in rel.lower() for x in REAL_EXCLUDE):
            continue
        for number, text in enumerate(pdftotext(pdf), 1):
            n = len(_chosen_by(text))
            if n < min_chars:
                continue
            cand = (round(japanese_fraction(text), 4), n, rel, number)
            package = str(Path(rel).parent)
            if package not in best or (cand[0], -cand[3]) > (best[package][0], -best[package][3]):
                best[package] = cand
    return sorted(best.values(), key=lambda c: (-c[0], c[2], c[3]))


def real_pages(root: Path, n: int, dpi: int = DPI, strength: float = DEGRADE_STRENGTH, seed: int = SEED,
               qualities: tuple[str, ...] = QUALITIES) -> list[BenchPage]:
    """The first ``n`` pinned pages, rasterised (grey) at ``dpi``, clean and degraded."""
    docs = root / DOC_ROOT
    chosen = [(rel, p) for rel, p in REAL_PAGES if (docs / rel).is_file()]
    if len(chosen) < min(n, len(REAL_PAGES)):  # another version of the package: rank afresh
        chosen = [(rel, p) for _, _, rel, p in select_real_pages(root)]
    return rasterise(docs, chosen[:n], dpi, strength, seed, qualities)


def rasterise(docs: Path, chosen: list[tuple[str, int]], dpi: int, strength: float, seed: int,
              qualities: tuple[str, ...]) -> list[BenchPage]:
    """PDF pages (path under ``docs``, 1-based page) as grey images, clean and degraded (page i's
    degradation drawn from ``(seed, i)``); their ``pdftotext`` text is the truth."""
    import pypdfium2 as pdfium

    from yomitori.data.degrade import DEFAULT_PROBS, degrade

    out: list[BenchPage] = []
    for i, (rel, number) in enumerate(chosen):
        ref = pdftotext(docs / rel, number)[0]
        pdf = pdfium.PdfDocument(str(docs / rel))
        try:
            clean = np.asarray(pdf[number - 1].render(scale=dpi / 72).to_pil().convert("L"))
        finally:
            pdf.close()
        for quality in qualities:
            image = clean
            if quality == "degraded":  # like the page engine: small skew, photometric scan effects
                rng = np.random.default_rng([seed, i, 0x5EA1])
                image = degrade(clean, rng, strength, probs=dict(DEFAULT_PROBS, rotate=0.5, perspective=0.0),
                                max_deg=0.4).image
            out.append(BenchPage("real", quality, f"{Path(rel).name} p{number}", image, dpi, ref))
    return out


def selection_real_pages(root: Path, n: int = 16, dpi: int = DPI, strength: float = DEGRADE_STRENGTH,
                         qualities: tuple[str, ...] = QUALITIES, seed: int = 777) -> list[BenchPage]:
    """Real pages for *choosing* settings, never the bench's own (``--real-set selection``).

    Other pages of the same documentation: at least 700 characters, at least 60 % Japanese,
    not one of :data:`REAL_PAGES`, at most two per PDF (drawn with ``seed``), then ``n`` of them
    in a seeded order; degraded with another seed than the bench's. docs/read.md reports the
    settings chosen on them.
    """
    docs = root / DOC_ROOT
    pinned = set(REAL_PAGES)
    by_pdf: dict[str, list[int]] = {}
    for pdf in sorted(docs.rglob("*.pdf")):
        rel = str(pdf.relative_to(docs))
        if any(x in rel.lower() for x in REAL_EXCLUDE):
            continue
        for number, text in enumerate(pdftotext(pdf), 1):
            if len(_chosen_by(text)) >= 700 and (rel, number) not in pinned and japanese_fraction(text) >= 0.6:
                by_pdf.setdefault(rel, []).append(number)
    rng = np.random.default_rng(seed)
    picked = [(rel, nums[j]) for rel, nums in sorted(by_pdf.items()) for j in sorted(rng.permutation(len(nums))[:2])]
    rng.shuffle(picked)
    return rasterise(docs, picked[:n], dpi, strength, 4242, qualities)


def write_tiff(pages: list[BenchPage], path: Path) -> Path:
    """A lossless multi-page TIFF (both engines read the very same pixels)."""
    images = [Image.fromarray(p.image) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], compression="tiff_deflate",
                   dpi=(pages[0].dpi, pages[0].dpi))
    return path


# ------------------------------------------------------------------------------ engines
def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def _tess_env() -> dict[str, str]:
    return dict(os.environ, OMP_THREAD_LIMIT="1", OMP_NUM_THREADS="1")


def run_tesseract(tiff: Path, lang: str, n_pages: int, tmp: Path) -> tuple[list[str], float]:
    """One Tesseract process over a multi-page TIFF (page segmentation 3): texts per page, wall s."""
    base = tmp / f"tess-{tiff.stem}"
    t0 = time.perf_counter()
    got = subprocess.run(["tesseract", str(tiff), str(base), "-l", lang, "--psm", "3"], capture_output=True,
                         text=True, env=_tess_env())
    seconds = time.perf_counter() - t0
    if got.returncode:
        raise RuntimeError(f"tesseract failed: {got.stderr.strip()[-300:]}")
    texts = base.with_suffix(".txt").read_text(encoding="utf-8").split("\f")  # one form feed after each page
    texts = texts[:n_pages] if len(texts) == n_pages + 1 and not texts[-1].strip() else texts
    if len(texts) != n_pages:
        raise RuntimeError(f"tesseract gave {len(texts)} pages for {n_pages}")
    return texts, seconds


def tesseract_load_seconds(lang: str, tmp: Path, repeats: int = 3) -> float:
    """Start-up + model load of one Tesseract process: the median time on a blank page."""
    blank = tmp / "blank.png"
    Image.new("L", (300, 300), 255).save(blank, dpi=(DPI, DPI))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(["tesseract", str(blank), "stdout", "-l", lang, "--psm", "3"], capture_output=True,
                       env=_tess_env())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def tesseract_version() -> str:
    got = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    return (got.stdout or got.stderr).splitlines()[0].strip() if (got.stdout or got.stderr) else "?"


def load_yomitori(backend: str = "auto", decode: dict[str, Any] | None = None) -> tuple[Any, float]:
    """The model engine on one thread, models loaded: (engine, seconds). ``decode``: line decoder
    options as ``read`` takes them (``lm_weight``, ``insertion_bonus``, ...; default: as shipped)."""
    import torch

    from yomitori.pipeline.engine import ModelEngine

    torch.set_num_threads(1)
    engine = ModelEngine(backend, threads=1, decode=decode)
    t0 = time.perf_counter()
    engine.load()
    return engine, time.perf_counter() - t0


def run_yomitori(path: Path, engine: Any, n_pages: int, dpi: int = DPI) -> tuple[list[str], float]:
    """``yomitori.read`` on one worker: each page's text as ``--format txt`` writes it, wall s."""
    import yomitori
    from yomitori.pipeline.write import page_text

    t0 = time.perf_counter()
    doc = yomitori.read(path, engine=engine, workers=1, dpi=dpi)
    seconds = time.perf_counter() - t0
    failed = [p.error for p in doc.pages if p.error]
    if failed or len(doc.pages) != n_pages:
        raise RuntimeError(f"yomitori read {len(doc.pages)} of {n_pages} pages: {failed[:2]}")
    return [page_text(p) for p in doc.pages], seconds


# ------------------------------------------------------------------------------ searchable PDF
def ocrmypdf_status() -> str | None:
    """None when OCRmyPDF can run here, else why not."""
    if importlib.util.find_spec("ocrmypdf") is None:
        return "ocrmypdf is not installed (pip install -e '.[bench]')"
    if shutil.which("gs") is None:
        return "Ghostscript (gs), which OCRmyPDF needs, is not installed (apt-get install ghostscript)"
    if not tesseract_available():
        return "tesseract is not installed"
    return None


def image_only_pdf(tiff: Path, out: Path) -> Path:
    """An image-only PDF of the TIFF's pages: yomitori's PDF writer with the null engine (no text)."""
    import yomitori
    from yomitori.pipeline.engine import NullEngine

    yomitori.read(tiff, output=str(out), formats=["pdf"], engine=NullEngine())
    if any(canon(t) for t in pdftotext(out)):
        raise RuntimeError(f"{out} is not image-only")
    return out


def searchable_pdf_part(pages: list[BenchPage], engine: Any, tmp: Path) -> dict[str, Any]:
    """yomitori --format pdf vs OCRmyPDF on the real pages: CER of pdftotext, wall time."""
    why = ocrmypdf_status()
    result: dict[str, Any] = {"pages": len(pages), "yomitori": {}, "ocrmypdf": {}}
    by_quality = {q: [p for p in pages if p.quality == q] for q in QUALITIES}
    for quality, group in by_quality.items():
        if not group:
            continue
        src = image_only_pdf(write_tiff(group, tmp / f"pdf-{quality}.tiff"), tmp / f"pdf-{quality}-image.pdf")
        refs = [p.reference for p in group]
        runs = {"yomitori": tmp / f"pdf-{quality}-yomitori.pdf"}
        if why is None:
            runs["ocrmypdf"] = tmp / f"pdf-{quality}-ocrmypdf.pdf"
        for name, out in runs.items():
            t0 = time.perf_counter()
            if name == "yomitori":
                import yomitori

                yomitori.read(src, output=str(out), formats=["pdf"], engine=engine, workers=1, dpi=group[0].dpi)
            else:
                cmd = [sys.executable, "-m", "ocrmypdf", "-l", "jpn", "--jobs", "1", "--output-type", "pdf",
                       "--optimize", "0", "--quiet", str(src), str(out)]
                got = subprocess.run(cmd, capture_output=True, text=True, env=_tess_env())
                if got.returncode:
                    result["ocrmypdf"][quality] = {"error": got.stderr.strip()[-500:]}
                    continue
            seconds = time.perf_counter() - t0
            texts = pdftotext(out)
            scores = [score_page(h, r) for h, r in zip(texts, refs, strict=True)]
            result[name][quality] = {**group_score(scores), "seconds": seconds, "pages": len(group)}
    if why is not None:
        result["ocrmypdf"] = {"skipped": why}
    else:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ocrmypdf", "--version"], capture_output=True)
        result["ocrmypdf_startup_s"] = time.perf_counter() - t0
    return result


# ------------------------------------------------------------------------------ the run
GROUP_NAMES = {"horizontal": "synthetic horizontal", "vertical": "synthetic vertical",
               "mixed": "synthetic mixed (tables, figures)", "real": "real PDF (texlive-lang-japanese)"}


def _dump(folder: Path | None, group: str, engine: str, texts: list[str], refs: list[str]) -> None:
    """Write each page's truth and reading to ``folder`` (``--dump``) for a look at the errors."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for i, (text, ref) in enumerate(zip(texts, refs, strict=True)):
        (folder / f"{group}-{i}.truth.txt").write_text(ref, encoding="utf-8")
        (folder / f"{group}-{i}.{engine}.txt").write_text(text, encoding="utf-8")


def run_bench(pages: list[BenchPage], *, tesseract: bool = True, tess_lang: str | None = None,
              backend: str = "auto", engine: Any = None, tmp: Path, dump: Path | None = None) -> dict[str, Any]:
    """Read every group of pages with both engines; scores and times per group and per page."""
    load_s = None
    if engine is None:
        engine, load_s = load_yomitori(backend)
    use_tess = tesseract and tesseract_available()
    groups: dict[tuple[str, str], list[BenchPage]] = {}
    for p in pages:
        groups.setdefault((p.kind, p.quality), []).append(p)
    langs = sorted({tess_lang or TESS_LANG[k] for k, _ in groups}) if use_tess else []
    tess_load = {lang: tesseract_load_seconds(lang, tmp) for lang in langs}
    out: dict[str, Any] = {"groups": [], "pages": [], "yomitori_load_s": load_s, "tesseract_load_s": tess_load,
                           "backend": (getattr(engine, "info", {}) or {}).get("backend", type(engine).__name__)}
    for (kind, quality), group in groups.items():
        tiff = write_tiff(group, tmp / f"{kind}-{quality}.tiff")
        refs = [p.reference for p in group]
        print(f"  {GROUP_NAMES[kind]} / {quality}: {len(group)} pages", file=sys.stderr, flush=True)
        row: dict[str, Any] = {"kind": kind, "quality": quality, "pages": len(group)}
        texts, seconds = run_yomitori(tiff, engine, len(group), group[0].dpi)
        y_scores = [score_page(h, r) for h, r in zip(texts, refs, strict=True)]
        row["yomitori"] = {**group_score(y_scores), "seconds": seconds}
        _dump(dump, f"{kind}-{quality}", "yomitori", texts, refs)
        t_scores: list[dict[str, Any] | None] = [None] * len(group)
        if use_tess:
            lang = tess_lang or TESS_LANG[kind]
            texts, seconds = run_tesseract(tiff, lang, len(group), tmp)
            t_scores = [score_page(h, r) for h, r in zip(texts, refs, strict=True)]
            _dump(dump, f"{kind}-{quality}", "tesseract", texts, refs)
            row["tesseract"] = {**group_score(t_scores), "lang": lang, "seconds": seconds,
                                "seconds_net": max(seconds - tess_load[lang], 1e-9)}
        out["groups"].append(row)
        for p, y, t in zip(group, y_scores, t_scores, strict=True):
            out["pages"].append({"kind": kind, "quality": quality, "source": p.source, "yomitori": y, "tesseract": t})
    y_s = sum(g["yomitori"]["seconds"] for g in out["groups"])
    n = sum(g["pages"] for g in out["groups"])
    out["speed"] = {"pages": n, "yomitori_s": y_s, "yomitori_pages_per_s": n / y_s}
    if use_tess:
        t_s = sum(g["tesseract"]["seconds_net"] for g in out["groups"])
        out["speed"].update(tesseract_s_net=t_s, tesseract_pages_per_s=n / t_s, ratio=(n / y_s) / (n / t_s))
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def format_table(results: dict[str, Any]) -> str:
    """The Markdown report: CER per group, speed, and the searchable-PDF comparison."""
    rows = ["| pages | n | chars | yomitori CER | Tesseract CER | Tesseract `-l` | yomitori CER, order-free "
            "| Tesseract CER, order-free | yomitori s/page | Tesseract s/page |",
            "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for g in results["groups"]:
        y, t = g["yomitori"], g.get("tesseract")
        name = f"{GROUP_NAMES.get(g['kind'], g['kind'])} / {g['quality']}"
        t_cells = [_pct(t["cer"]), t["lang"], _pct(t["order_free_cer"]), f"{t['seconds_net'] / g['pages']:.2f}"] \
            if t else ["—"] * 4
        cells = [name, str(g["pages"]), str(y["chars"]), _pct(y["cer"]), t_cells[0], t_cells[1],
                 _pct(y["order_free_cer"]), t_cells[2], f"{y['seconds'] / g['pages']:.2f}", t_cells[3]]
        rows.append("| " + " | ".join(cells) + " |")
    lines = ["\n".join(rows), ""]
    sp = results.get("speed", {})
    if sp:
        text = (f"Speed, wall time, one thread each, {sp['pages']} pages: yomitori "
                f"**{sp['yomitori_pages_per_s']:.3f} pages/s** ({results.get('backend', '?')}; models loaded once in "
                f"{results.get('yomitori_load_s') or 0:.2f} s, not counted)")
        if "tesseract_pages_per_s" in sp:
            loads = ", ".join(f"{k} {v:.2f} s" for k, v in results.get("tesseract_load_s", {}).items())
            text += (f", Tesseract **{sp['tesseract_pages_per_s']:.3f} pages/s** (start-up and model load per "
                     f"process, not counted: {loads}); **yomitori / Tesseract = {sp['ratio']:.2f}×**.")
        else:
            text += "; Tesseract not run."
        lines.append(text)
    pdf = results.get("pdf")
    if pdf:
        lines += ["", "| searchable PDF (real pages) | CER clean | CER degraded | wall s | pages/s |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for name, label in (("yomitori", "`yomitori read --format pdf` (models loaded)"),
                            ("ocrmypdf", "`ocrmypdf -l jpn --jobs 1`")):
            r = pdf.get(name, {})
            if "skipped" in r:
                lines.append(f"| {label} | skipped: {r['skipped']} | | | |")
                continue
            done = [v for v in r.values() if isinstance(v, dict) and "seconds" in v]
            secs = sum(v["seconds"] for v in done)
            n = sum(v["pages"] for v in done)
            cells = [_pct(r[q]["cer"]) if q in r and "cer" in r[q] else r.get(q, {}).get("error", "—")[:60]
                     for q in QUALITIES]
            rate = f"{n / secs:.3f}" if secs else "—"
            lines.append(f"| {label} | {cells[0]} | {cells[1]} | {secs:.1f} | {rate} |")
    elif results.get("pdf_skipped"):
        lines += ["", f"Searchable PDF comparison skipped: {results['pdf_skipped']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages-per-kind", type=int, default=3, help="pages per kind and quality (default 3)")
    ap.add_argument("--real-pages", type=int, help="real PDF pages per quality (default: --pages-per-kind)")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"synthetic kinds (default {','.join(KINDS)})")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 page of horizontal, vertical and real (clean and degraded), no OCRmyPDF")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--dpi", type=int, default=DPI)
    ap.add_argument("--tess-lang", help="one Tesseract language for every kind (default: best per kind, TESS_LANG)")
    ap.add_argument("--backend", default="auto", help="yomitori runtime (default: the fastest installed)")
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--no-real", action="store_true", help="synthetic pages only")
    ap.add_argument("--no-ocrmypdf", action="store_true", help="skip the searchable-PDF comparison")
    ap.add_argument("--list-real", action="store_true", help="rank the real candidate pages and exit")
    ap.add_argument("--real-set", choices=["bench", "selection"], default="bench",
                    help="real pages: the bench's pinned pages, or 16 others for choosing settings "
                         "(use with --seed 5000 for synthetic selection pages)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--dump", type=Path, help="write every page's truth and both readings to this folder")
    ap.add_argument("--lm-weight", type=float, help="LM fusion weight (default: the LM JSON's fusion_pages)")
    ap.add_argument("--lm-bonus", type=float, help="insertion bonus (default: the LM JSON's fusion_pages)")
    args = ap.parse_args(argv)

    qualities = QUALITIES
    kinds = tuple(k for k in args.kinds.split(",") if k)
    n = args.pages_per_kind
    if args.quick:
        kinds, n, args.no_ocrmypdf = ("horizontal", "vertical"), 1, True
    n_real = 1 if args.quick else (args.real_pages if args.real_pages is not None else n)
    if args.list_real:
        for c in select_real_pages(ensure_texlive()):
            print(f"{c[0]:.3f} {c[1]:5d} {c[2]} p{c[3]}")
        return 0

    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    results: dict[str, Any] = {"config": {"seed": args.seed, "dpi": args.dpi, "pages_per_kind": n, "real_pages": n_real,
                                          "kinds": kinds, "qualities": qualities, "degrade_strength": DEGRADE_STRENGTH,
                                          "argv": sys.argv[1:], "cpus": os.cpu_count()}}
    print(f"rendering {n} synthetic page(s) per kind x {len(qualities)} ...", file=sys.stderr, flush=True)
    pages = synthetic_pages(kinds, n, args.seed, args.dpi, qualities=qualities)
    if not args.no_real and n_real > 0:
        try:
            root = ensure_texlive()
            if args.real_set == "selection":
                pages += selection_real_pages(root, n_real, args.dpi, qualities=qualities)
            else:
                pages += real_pages(root, n_real, args.dpi, seed=args.seed, qualities=qualities)
            results["config"]["texlive_deb"] = [p.name for p in root.parent.glob(f"{TEXLIVE_PACKAGE}_*.deb")]
        except Skip as exc:
            print(f"real PDFs skipped: {exc}", file=sys.stderr)
            results["real_skipped"] = str(exc)
    if not args.no_tesseract and not tesseract_available():
        print("tesseract not found: yomitori only", file=sys.stderr)
    results["config"]["tesseract"] = tesseract_version() if tesseract_available() else None
    with tempfile.TemporaryDirectory(prefix="bench-read-") as td:
        tmp = Path(td)
        engine, load_s = load_yomitori(args.backend, {"lm_weight": args.lm_weight, "insertion_bonus": args.lm_bonus})
        print(f"reading ({engine.info.get('backend')}, models loaded in {load_s:.2f} s) ...", file=sys.stderr, flush=True)
        results.update(run_bench(pages, tesseract=not args.no_tesseract, tess_lang=args.tess_lang, engine=engine,
                                 tmp=tmp, dump=args.dump))
        results["yomitori_load_s"] = load_s
        results["config"]["decoder"] = engine.info.get("decoder")
        real = [p for p in pages if p.kind == "real"]
        if args.no_ocrmypdf:
            pass
        elif not real:
            results["pdf_skipped"] = "no real pages"
        else:
            why = ocrmypdf_status()
            if why:
                print(f"OCRmyPDF skipped: {why}", file=sys.stderr)
            print("searchable PDF: yomitori vs OCRmyPDF ...", file=sys.stderr, flush=True)
            results["pdf"] = searchable_pdf_part(real, engine, tmp)
    results["wall_s"] = time.perf_counter() - t_start
    results["loadavg"] = {"start": load0, "end": os.getloadavg()[0]}
    print(format_table(results))
    print(f"\n{results['wall_s']:.0f} s in all; load average {load0:.1f} at the start, "
          f"{results['loadavg']['end']:.1f} at the end ({os.cpu_count()} CPUs)")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
