"""``yomitori read``: PDFs and scans to text, JSON, Markdown, hOCR and searchable PDF.

Exit status: 0 when every page was read; 1 when some pages failed (their outputs are still
written with the other pages, and each failed page is named on stderr); 2 when an input, an
option or the output folder is unusable (one line on stderr, nothing written); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HELP = "read PDFs and scans: text, JSON, Markdown, hOCR, searchable PDF"
DESCRIPTION = """\
Read PDFs and images (PNG, JPEG, multi-page TIFF) and write their text.

Without -o, plain text goes to stdout. With -o OUT, each --format is written to OUT.<ext>
(OUT a file stem) or OUT/<input name>.<ext> (OUT an existing folder, a path ending in /, or
several inputs). Figure crops go to <stem>_figures/ beside the outputs.

examples:
  yomitori read scan.pdf                         # text to stdout
  yomitori read scan.pdf -o out/ --format txt,json,md,hocr,pdf --workers 4
  yomitori read book.pdf --pages 1-5,8 --dpi 400 -o book --format pdf

exit status: 0 all pages read; 1 some pages failed (named on stderr, the rest written);
2 unusable input, option or output folder (one line on stderr, nothing written).
"""

ENGINE_ENV = "YOMITORI_ENGINE"  # testing: "null" or "fixed:RECORDED.json" instead of the models
PASSWORD_ENV = "YOMITORI_PDF_PASSWORD"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="PDF or image files")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output folder or file stem (default: text to stdout)")
    p.add_argument("--format", default="txt", metavar="FORMATS",
                   help="comma-separated: txt, json, md, hocr, pdf (default: txt)")
    p.add_argument("--pages", metavar="RANGES", help="pages to read, e.g. 1-5,8 or 10- (default: all)")
    p.add_argument("--dpi", type=float, default=300.0,
                   help="PDF render resolution; for images without one, their assumed resolution "
                        "(default: 300)")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime", "openvino"],
                   help="inference runtime (default: the fastest installed)")
    p.add_argument("--workers", type=int, default=1,
                   help="pages read in parallel, one process each (default: 1)")
    p.add_argument("--password", help=f"password of encrypted PDFs (or set {PASSWORD_ENV})")
    add_decoder_arguments(p)
    p.add_argument("--no-char-check", dest="char_check", action="store_false",
                   help="do not re-read doubtful kanji with the character classifier")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    # testing: run the whole pipeline without models ("null", "fixed:RECORDED.json")
    p.add_argument("--engine", default=None, help=argparse.SUPPRESS)


def add_decoder_arguments(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """--decoder, --lm, --lm-weight, --lm-bonus, --beam-width (shared with ``yomitori eval``)."""
    g = p.add_argument_group("line decoder")
    g.add_argument("--decoder", default=default, choices=["greedy", "beam", "auto"],
                   help="CTC decoding of each line: greedy (best path), beam (prefix beam search), auto "
                        "(beam with the shipped language model when installed, else greedy)"
                        + f" (default: {default or 'auto'})")
    g.add_argument("--lm", default="auto", metavar="PATH",
                   help="character language model fused into the beam search: a .safetensors from "
                        "`yomitori data lm`, 'auto' (the shipped one, with --decoder beam) or 'none'")
    g.add_argument("--lm-weight", type=float, default=None, metavar="W",
                   help="weight of the LM's log-probability (default: tuned value in the LM's JSON)")
    g.add_argument("--lm-bonus", type=float, default=None, metavar="B",
                   help="per-character insertion bonus with the LM (default: tuned value in the LM's JSON)")
    g.add_argument("--beam-width", type=int, default=None, metavar="N", help="beams kept per frame (default: the LM's JSON, else 16)")


def decoder_options(args: argparse.Namespace) -> dict:
    from yomitori.errors import UserError

    if args.beam_width is not None and args.beam_width < 1:
        raise UserError(f"--beam-width must be at least 1, not {args.beam_width}")
    return {"decoder": args.decoder, "lm": args.lm, "lm_weight": args.lm_weight,
            "insertion_bonus": args.lm_bonus, "beam_width": args.beam_width}


def _targets_for(inputs: list[str], output: str | None, formats: list[str]):  # noqa: ANN202
    from yomitori.errors import UserError
    from yomitori.pipeline.run import plan_targets
    from yomitori.pipeline.write import prepare_folder

    many = len(inputs) > 1
    if output is None and many and formats != ["txt"]:
        raise UserError("several inputs to stdout: only --format txt; use -o OUT for the others")
    plans = {src: (plan_targets(src, output, formats, many=many, prepare=False) if output is not None
                   else {formats[0]: None}) for src in inputs}
    seen: dict[Path, str] = {}
    for src, targets in plans.items():
        for path in targets.values():
            if path is None:
                continue
            if path in seen:
                raise UserError(f"{path}: both {seen[path]} and {src} would be written there")
            seen[path] = src
    for folder in {p.parent for p in seen}:
        prepare_folder(folder)
    return plans


def run(args: argparse.Namespace) -> int:
    from yomitori.errors import UserError
    from yomitori.pipeline.engine import make_engine
    from yomitori.pipeline.render import check_dpi, inspect_source, parse_page_spec, select_pages
    from yomitori.pipeline.run import prepare_engine, read_into
    from yomitori.pipeline.write import output_targets, parse_formats

    formats = parse_formats(args.format)
    if args.pages:
        parse_page_spec(args.pages)
    dpi = check_dpi(args.dpi)
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, not {args.workers}")
    password = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
    if args.output is None:
        output_targets(args.inputs[0], None, formats, folder=False)  # pdf / several formats need -o
    # every input checked, every output folder proven writable, before any page is read
    infos = {}
    for src in args.inputs:
        info = inspect_source(src, password)
        select_pages(args.pages, info.page_count, src)
        infos[src] = info
    decode = decoder_options(args)
    if not args.char_check:
        decode["char_check"] = False
    engine = make_engine(args.engine or os.environ.get(ENGINE_ENV) or "model", backend=args.backend, decode=decode)
    prepare_engine(engine)
    plans = _targets_for(args.inputs, args.output, formats)

    show_bar = not args.quiet and sys.stderr.isatty()
    failed: list[tuple[str, int, str]] = []
    total = 0
    for i, src in enumerate(args.inputs):
        if i and args.output is None:
            sys.stdout.write("\f")
        doc = read_into(src, plans[src], engine=engine, info=infos[src], pages=args.pages, dpi=dpi,
                        backend=args.backend, workers=args.workers, password=password,
                        progress=show_bar)
        total += len(doc.pages)
        failed += [(src, p.number, p.error) for p in doc.pages if p.error]
    for src, number, error in failed:
        print(f"yomitori: page {number} of {src} failed: {error}", file=sys.stderr)
    written = [str(p) for targets in plans.values() for p in targets.values() if p is not None]
    if failed:
        print(f"yomitori: {len(failed)} of {total} pages failed; the other pages were written",
              file=sys.stderr)
        return 1
    if written and not args.quiet:
        print(f"yomitori: read {total} pages, wrote {', '.join(written)}", file=sys.stderr)
    return 0
