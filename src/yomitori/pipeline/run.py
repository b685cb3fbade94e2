"""The reading pipeline, end to end: render → engine (layout + recognize) → assemble → write.

    doc = yomitori.read("scan.pdf")                                   # a Document, nothing written
    doc = yomitori.read("scan.pdf", output="out/", formats=["txt", "pdf"], workers=4)

Pages stream: each is rendered, recognized and handed to the writers before the next is
rendered, so memory does not grow with the page count (the returned Document keeps only text
and boxes). With ``workers > 1`` a process pool reads pages in parallel; each worker opens the
file and loads its engine once, renders pages itself from their numbers (no pixels cross
processes, only the compressed page image the PDF writer needs), and results come back in page
order, a few pages in flight per worker.

A page that fails (damaged page, too large, engine error, a crashed worker) comes back as
``Page(error=...)`` and the others are unaffected; errors that concern the whole input (not a
PDF, wrong password, no models) raise :class:`~yomitori.errors.UserError` before any page.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from yomitori import __version__
from yomitori.document import Document, Page
from yomitori.errors import UserError
from yomitori.pipeline.assemble import assemble_page
from yomitori.pipeline.engine import Engine, ModelEngine
from yomitori.pipeline.pdf import encode_page_png
from yomitori.pipeline.render import (
    DEFAULT_DPI,
    PageRenderer,
    SourceInfo,
    check_dpi,
    inspect_source,
    select_pages,
)
from yomitori.pipeline.write import OutputSet, output_targets, parse_formats, prepare_folder
from yomitori.types import PageImage, RegionClass


@dataclass
class PageResult:
    page: Page
    image_png: bytes | None = None  # the rendered page, for the searchable PDF
    figures: list[tuple[int, bytes]] = field(default_factory=list)  # (region index, PNG crop)


@dataclass(frozen=True)
class ReadJob:
    """Everything a worker needs to read pages of one input (pickled once per worker)."""

    path: str
    engine: Engine
    dpi: float = DEFAULT_DPI
    password: str | None = None
    want_image: bool = False
    want_figures: bool = False


def crop_figures(image: PageImage, page: Page) -> list[tuple[int, bytes]]:
    """PNG crops of the page's figure regions, by region index."""
    crops = []
    for i, region in enumerate(page.regions):
        if region.cls != RegionClass.FIGURE:
            continue
        b = region.bbox
        x0, y0 = max(int(b.x0), 0), max(int(b.y0), 0)
        x1, y1 = min(int(round(b.x1)), image.width_px), min(int(round(b.y1)), image.height_px)
        if x1 > x0 and y1 > y0:
            crops.append((i, encode_page_png(image.pixels[y0:y1, x0:x1])))
    return crops


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


def load_engine(engine: Engine) -> None:
    """Load the engine's models now (once per process); any failure is a UserError."""
    load = getattr(engine, "load", None)
    if load is None:
        return
    try:
        load()
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the runtime raises, one clear line
        raise UserError(f"cannot load the reading models ({_describe(exc)})") from None


def _page_error(exc: BaseException, path: str, number: int) -> str:
    """The error without the file and page it concerns (the Page and Document carry those)."""
    msg = _describe(exc)
    for prefix in (f"{path}: ", f"page {number}: "):
        msg = msg.removeprefix(prefix)
    return msg


def read_page(job: ReadJob, renderer: PageRenderer, number: int) -> PageResult:
    """Render, recognize and assemble one page; a failure becomes ``Page(error=...)``."""
    try:
        image = renderer.render(number)
    except Exception as exc:  # noqa: BLE001 - the page fails, the batch goes on
        return PageResult(Page(number, 0, 0, job.dpi, error=_page_error(exc, str(renderer.path), number)))
    png = encode_page_png(image.pixels) if job.want_image else None
    try:
        page = assemble_page(job.engine.process(image))
        figures = crop_figures(image, page) if job.want_figures else []
    except Exception as exc:  # noqa: BLE001
        error = _page_error(exc, str(renderer.path), number)
        page = Page(number, image.width_px, image.height_px, image.dpi, error=error)
        return PageResult(page, png)
    page.number = number
    return PageResult(page, png, figures)


# -- worker processes -------------------------------------------------------------------------
_worker: dict[str, object] = {}


def _init_worker(job: ReadJob) -> None:
    _worker["job"] = job
    _worker["renderer"] = None


def _work(number: int) -> PageResult:
    job: ReadJob = _worker["job"]  # type: ignore[assignment]
    load_engine(job.engine)
    renderer = _worker.get("renderer")
    if renderer is None:
        renderer = _worker["renderer"] = PageRenderer(job.path, dpi=job.dpi, password=job.password)
    return read_page(job, renderer, number)  # type: ignore[arg-type]


def _read_parallel(job: ReadJob, numbers: Sequence[int], workers: int) -> Iterator[PageResult]:
    """Results in page order; at most 2 pages per worker in flight (bounded memory)."""
    todo = deque(numbers)
    ctx = multiprocessing.get_context("spawn")  # PDFium and threads do not survive fork
    while todo:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                                   initializer=_init_worker, initargs=(job,))
        inflight: deque[tuple[int, Future]] = deque()
        try:
            while todo or inflight:
                while todo and len(inflight) < 2 * workers:
                    n = todo.popleft()
                    inflight.append((n, pool.submit(_work, n)))
                n, fut = inflight.popleft()
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    # a worker died (a crash in a decoder, out of memory): the pages in flight
                    # fail, the rest go to a fresh pool
                    msg = "the worker process reading this page died (crash or out of memory)"
                    yield PageResult(Page(n, 0, 0, job.dpi, error=msg))
                    for m, _ in inflight:
                        yield PageResult(Page(m, 0, 0, job.dpi, error=msg))
                    inflight.clear()
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def read_iter(path: str | os.PathLike, *, engine: Engine | None = None, pages: str | Sequence[int] | None = None,
              dpi: float = DEFAULT_DPI, backend: str = "auto", workers: int = 1, password: str | None = None,
              want_image: bool = False, want_figures: bool = False,
              info: SourceInfo | None = None) -> Iterator[PageResult]:
    """Read the selected pages of ``path`` one by one, in page order."""
    info = info or inspect_source(path, password)
    numbers = select_pages(pages, info.page_count, str(path))
    engine = engine if engine is not None else ModelEngine(backend)
    if workers > 1 and isinstance(engine, ModelEngine) and engine.threads is None:
        # N processes each running as many threads as there are cores would oversubscribe
        engine = ModelEngine(engine.backend, threads=max(1, (os.cpu_count() or 1) // workers), decode=engine.decode)
    job = ReadJob(str(path), engine, dpi, password, want_image, want_figures)
    if workers > 1 and len(numbers) > 1:
        yield from _read_parallel(job, numbers, workers)
        return
    load_engine(engine)
    with PageRenderer(path, dpi=dpi, password=password) as renderer:
        for n in numbers:
            yield read_page(job, renderer, n)


def document_metadata(engine: Engine, info: SourceInfo, dpi: float, backend: str) -> dict:
    meta = {"yomitori": __version__, "engine": getattr(engine, "name", type(engine).__name__),
            "format": info.format, "page_count": info.page_count, "dpi": dpi}
    if isinstance(engine, ModelEngine):
        meta["backend"] = backend
    models = getattr(engine, "info", None)
    if models:
        meta["models"] = models
    return meta


def plan_targets(path: str | os.PathLike, output: str | os.PathLike | None, formats: Sequence[str], *,
                 many: bool = False, prepare: bool = True) -> dict[str, Path | None]:
    """Output file per format (None: stdout), the output folder created and proven writable.

    ``output`` is a folder when it exists as one, ends with a separator or ``many`` inputs
    share it (files named after the input), else a file stem (``out`` → out.txt, out.json).
    """
    out = None if output is None else str(output)
    folder = out is not None and (many or out.endswith(("/", os.sep)) or Path(out).is_dir())
    targets = output_targets(path, out, formats, folder=folder)
    files = [t for t in targets.values() if t is not None]
    if files and prepare:
        prepare_folder(files[0].parent)
    return targets


def read_into(path: str | os.PathLike, targets: dict[str, Path | None], *, engine: Engine,
              info: SourceInfo | None = None, pages: str | Sequence[int] | None = None,
              dpi: float = DEFAULT_DPI, backend: str = "auto", workers: int = 1,
              password: str | None = None, progress: bool = False) -> Document:
    """Read ``path`` and stream its pages into ``targets`` (format -> file, None = stdout).

    Figure crops go to ``<stem>_figures/`` beside the first output file. Returns the Document.
    """
    info = info or inspect_source(path, password)
    numbers = select_pages(pages, info.page_count, str(path))  # range errors before any work
    if workers <= 1 or len(numbers) <= 1:
        load_engine(engine)  # here, so that the models' info goes into the metadata
    doc = Document(str(path), metadata=document_metadata(engine, info, dpi, backend))
    files = [t for t in targets.values() if t is not None]
    figures_dir = files[0].with_name(files[0].stem + "_figures") if files else None
    outputs = OutputSet(doc, targets, figures_dir=figures_dir, base_dir=files[0].parent if files else None)
    results = read_iter(path, engine=engine, pages=numbers, dpi=dpi, backend=backend, workers=workers,
                        password=password, want_image="pdf" in targets, want_figures=bool(files),
                        info=info)
    bar = _progress_bar(progress, len(numbers), Path(path).name)
    try:
        with outputs:
            for result in results:
                outputs.add(result.page, result.image_png, result.figures)
                doc.pages.append(result.page)
                bar.update(1)
    finally:
        results.close()
        bar.close()
    return doc


def read(path: str | os.PathLike, *, output: str | os.PathLike | None = None,
         formats: str | Sequence[str] = ("txt",), pages: str | Sequence[int] | None = None,
         dpi: float = DEFAULT_DPI, backend: str = "auto", workers: int = 1, password: str | None = None,
         engine: Engine | None = None, progress: bool = False) -> Document:
    """Read a PDF or image into a :class:`Document`; with ``output``, also write ``formats``.

    ``output`` is a folder (existing, or ending with a separator: files are named after the
    input) or a file stem (``out`` → out.txt, out.json...); figure crops go to
    ``<stem>_figures/`` beside them. ``engine`` defaults to the shipped models on ``backend``;
    ``progress`` shows a bar on stderr. Pages that fail carry ``Page.error``.
    """
    formats = parse_formats(formats)
    dpi = check_dpi(dpi)
    info = inspect_source(path, password)
    select_pages(pages, info.page_count, str(path))
    engine = engine if engine is not None else ModelEngine(backend)
    prepare_engine(engine)
    targets = plan_targets(path, output, formats) if output is not None else {}
    return read_into(path, targets, engine=engine, info=info, pages=pages, dpi=dpi, backend=backend,
                     workers=workers, password=password, progress=progress)


def prepare_engine(engine: Engine) -> None:
    """The engine's cheap checks (stages importable, backend installed), before any work."""
    prepare = getattr(engine, "prepare", None)
    if prepare is not None:
        prepare()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool, total: int, name: str):  # noqa: ANN202
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="page", file=sys.stderr, leave=False, dynamic_ncols=True)
