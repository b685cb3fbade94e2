"""``yomitori data``: look at, pre-render and feed the synthetic Japanese data engine.

    yomitori data preview lines --count 12 --out lines.png      # PNG grid + lines.json
    yomitori data preview chars-kanjivg --split train
    yomitori data build lines --count 100000 --out data/lines --workers 2
    yomitori data corpus                                          # Debian docs → text corpus
    yomitori data lm --order 3 --out src/yomitori/weights/lm_char3.safetensors  # character LM
    yomitori data fonts                                           # fonts, split, coverage
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from yomitori.errors import UserError

HELP = "synthetic Japanese data: preview, build shards, corpus"
DESCRIPTION = __doc__
PREVIEW_KINDS = ("lines", "lines-vertical", "chars", "chars-printed", "chars-handwriting",
                 "chars-brush", "chars-kanjivg", "pages")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("preview", help="write a PNG grid of samples and their ground truth as JSON")
    p.add_argument("kind", choices=PREVIEW_KINDS)
    p.add_argument("--count", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=("train", "eval"), default="train")
    p.add_argument("--height", type=int, default=48, help="line height (width if vertical), px")
    p.add_argument("--degrade", type=float, default=0.0, help="scan degradation strength 0..1")
    p.add_argument("--text", choices=("auto", "corpus", "random"), default="auto")
    p.add_argument("--out", type=Path, default=None, help="PNG path (default data_<kind>.png)")
    b = sub.add_parser("build", help="pre-render samples into tar shards with a progress bar")
    b.add_argument("kind", choices=("lines", "chars"))
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--start", type=int, default=0)
    b.add_argument("--split", choices=("train", "eval"), default="train")
    b.add_argument("--height", type=int, default=32)
    b.add_argument("--vertical-prob", type=float, default=0.0)
    b.add_argument("--degrade", type=float, default=0.0)
    b.add_argument("--style-weights", default=None, metavar="STYLE:W,...",
                   help="lines: font styles and their weights, e.g. printed:0.6,handwriting:0.2,brush:0.2; "
                        "chars: sources, e.g. printed:0.5,handwriting:0.2,brush:0.1,kanjivg:0.2")
    b.add_argument("--latin-font-prob", type=float, default=0.0,
                   help="lines: chance that a line draws its ASCII in a separate Latin font")
    b.add_argument("--academic-prob", type=float, default=0.0,
                   help="lines: chance that a horizontal line punctuates with ，． instead of 、。")
    b.add_argument("--tex-prob", type=float, default=0.0,
                   help="lines: chance that a horizontal line gets a TeX logo, TeX macro code or curly quotes")
    b.add_argument("--smallcaps-prob", type=float, default=0.0,
                   help="lines: chance that a horizontal line gets a name set in small capitals")
    b.add_argument("--hand-prob", type=float, default=0.0,
                   help="lines: chance that a line's kana and kanji are drawn from KanjiVG strokes "
                        "(pen or brush) instead of the font")
    b.add_argument("--text", choices=["auto", "corpus", "random"], default="auto",
                   help="lines: corpus windows (auto: the corpus when built) or random text over the whole "
                        "charset (every Jōyō kanji equally often, 15 %% other JIS kanji)")
    b.add_argument("--shard-size", type=int, default=1000)
    b.add_argument("--workers", type=int, default=1)
    c = sub.add_parser("corpus", help="build the text corpus from Debian documentation packages")
    c.add_argument("--out", type=Path, default=None, help="default ~/.cache/yomitori/corpus")
    c.add_argument("--packages", nargs="*", default=None)
    c.add_argument("--eval-percent", type=int, default=10)
    m = sub.add_parser("lm", help="train the character n-gram language model on the corpus's training split")
    m.add_argument("--order", type=int, default=3)
    m.add_argument("--min-count", type=int, nargs="+", default=[2],
                   help="drop n-grams (order ≥ 2) seen fewer times: one value, or one per order 2..N")
    m.add_argument("--out", type=Path, required=True, help=".safetensors path (its .json is written beside)")
    m.add_argument("--corpus", type=Path, default=None, help="corpus folder (default ~/.cache/yomitori/corpus)")
    m.add_argument("--academic-docs", type=float, default=0.0,
                   help="fraction of documents punctuated with ，． (as ,.) instead of 、。")
    m.add_argument("--lm-weight", type=float, default=None, help="record tuned fusion settings in the JSON")
    m.add_argument("--lm-bonus", type=float, default=None, help="(the decoder uses them as its defaults)")
    m.add_argument("--beam-width", type=int, default=None)
    m.add_argument("--prune", type=float, default=None, help="skip characters below this probability in a frame")
    m.add_argument("--tuned-on", default=None, help="where the fusion settings were tuned (recorded as is)")
    sub.add_parser("fonts", help="list installed fonts with split, style and measured coverage")


def _line_cfg(args: argparse.Namespace, vertical: bool):  # noqa: ANN202
    from yomitori.data.lines import LineConfig

    return LineConfig(height_px=args.height, split=args.split, vertical_prob=float(vertical),
                      degrade_strength=args.degrade, text=getattr(args, "text", "auto"))


def _char_cfg(args: argparse.Namespace, kind: str):  # noqa: ANN202
    from yomitori.data.chars import CharConfig

    only = kind.removeprefix("chars").removeprefix("-")
    weights = CharConfig().source_weights
    if only:
        weights = ((only, 1.0),)
    return CharConfig(split=args.split, source_weights=weights, degrade_strength=args.degrade)


def _grid(images: list, vertical: bool, lines: bool):  # noqa: ANN001, ANN202
    import numpy as np

    gap = 6
    if not lines:
        cols = min(len(images), 8)
        rows = -(-len(images) // cols)
        s = images[0].shape[0]
        out = np.full((rows * (s + gap) - gap, cols * (s + gap) - gap), 255, np.uint8)
        for k, im in enumerate(images):
            r, c = divmod(k, cols)
            out[r * (s + gap):r * (s + gap) + s, c * (s + gap):c * (s + gap) + s] = im
        return out
    if vertical:
        h = max(im.shape[0] for im in images)
        out = np.full((h, sum(im.shape[1] + gap for im in images) - gap), 255, np.uint8)
        x = 0
        for im in images[::-1]:  # right to left, as columns are read
            out[:im.shape[0], x:x + im.shape[1]] = im
            x += im.shape[1] + gap
        return out
    w = max(im.shape[1] for im in images)
    out = np.full((sum(im.shape[0] + gap for im in images) - gap, w), 255, np.uint8)
    y = 0
    for im in images:
        out[y:y + im.shape[0], :im.shape[1]] = im
        y += im.shape[0] + gap
    return out


def _preview(args: argparse.Namespace) -> int:
    from PIL import Image

    from yomitori.atomic import atomic_write_text
    from yomitori.data.shards import sample_record

    kind = args.kind
    out = args.out or Path(f"data_{kind.replace('-', '_')}.png")
    if kind == "pages":  # pages with their ground truth (regions, lines, reading order) drawn over
        from yomitori.data.pages import PageConfig, preview_pages, render_page

        cfg = PageConfig(split=args.split, degrade_prob=1.0 if args.degrade > 0 else 0.0,
                         degrade_strength=args.degrade or 0.5)
        preview_pages(out, n=min(args.count, 6), seed=args.seed, cfg=cfg)
        truth = {"kind": kind, "seed": args.seed, "pages": [
            render_page(args.seed, i, dataclasses.replace(cfg, kinds=((cfg.kinds[i % len(cfg.kinds)][0], 1.0),)))
            .to_dict() for i in range(min(args.count, 6))]}
        atomic_write_text(out.with_suffix(".json"), json.dumps(truth, ensure_ascii=False, indent=1))
        print(f"wrote {out} and {out.with_suffix('.json')}")
        return 0
    lines = kind.startswith("lines")
    vertical = kind == "lines-vertical"
    if lines:
        from yomitori.data.lines import render_line

        cfg = _line_cfg(args, vertical)
        samples = [render_line(args.seed, i, cfg) for i in range(args.count)]
    else:
        from yomitori.data.chars import render_char

        cfg = _char_cfg(args, kind)
        samples = [render_char(args.seed, i, cfg) for i in range(args.count)]
    grid = _grid([s.image for s in samples], vertical, lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out, optimize=True)
    truth = {"kind": kind, "seed": args.seed, "config": dataclasses.asdict(cfg),
             "samples": [sample_record(s)[1] for s in samples]}
    atomic_write_text(out.with_suffix(".json"), json.dumps(truth, ensure_ascii=False, indent=1))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def parse_weights(text: str, allowed: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """``"printed:0.6,brush:0.4"`` → ``(("printed", 0.6), ("brush", 0.4))``, checked against ``allowed``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition(":")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if name not in allowed or not weight >= 0:
            raise UserError(f"--style-weights: bad entry {part!r} (expected NAME:WEIGHT with NAME in "
                            f"{', '.join(allowed)} and WEIGHT ≥ 0)")
        out.append((name, weight))
    if not out or sum(w for _, w in out) <= 0:
        raise UserError("--style-weights: give at least one positive weight")
    return tuple(out)


def _build(args: argparse.Namespace) -> int:
    from yomitori.data.shards import write_shards

    if args.count <= 0:
        raise UserError("--count must be positive")
    if args.kind == "lines":
        from yomitori.data.lines import LineConfig, render_line

        extra = {}
        if args.style_weights:
            extra["style_weights"] = parse_weights(args.style_weights, ("printed", "handwriting", "brush"))
        cfg, render = LineConfig(height_px=args.height, split=args.split,
                                 vertical_prob=args.vertical_prob,
                                 degrade_strength=args.degrade, latin_font_prob=args.latin_font_prob,
                                 academic_prob=args.academic_prob, tex_prob=args.tex_prob,
                                 smallcaps_prob=args.smallcaps_prob, hand_prob=args.hand_prob,
                                 text=args.text,
                                 **extra), render_line
    else:
        from yomitori.data.chars import CharConfig, render_char

        extra = {}
        if args.style_weights:
            allowed = tuple(name for name, _ in CharConfig().source_weights)
            extra["source_weights"] = parse_weights(args.style_weights, allowed)
        cfg, render = CharConfig(split=args.split, degrade_strength=args.degrade, **extra), render_char
    paths = write_shards(args.kind, render, cfg, args.seed, args.count, args.out,
                         shard_size=args.shard_size, workers=args.workers, start=args.start)
    print(f"wrote {len(paths)} shards to {args.out}")
    return 0


def _lm(args: argparse.Namespace) -> int:
    import shlex
    import time

    from yomitori.recognition.lm import build_from_corpus, load_lm

    if args.order < 1:
        raise UserError("--order must be at least 1")
    cuts = args.min_count[0] if len(args.min_count) == 1 else args.min_count
    if len(args.min_count) not in (1, args.order - 1) or min(args.min_count) < 1:
        raise UserError(f"--min-count: one value ≥ 1, or {args.order - 1} (one per order 2..{args.order})")
    words = ["yomitori", "data", "lm", "--order", str(args.order), "--min-count", *map(str, args.min_count),
             "--out", str(args.out)]
    if args.academic_docs:
        words += ["--academic-docs", str(args.academic_docs)]
    for flag, value in (("--corpus", args.corpus), ("--lm-weight", args.lm_weight), ("--lm-bonus", args.lm_bonus),
                        ("--beam-width", args.beam_width), ("--prune", args.prune), ("--tuned-on", args.tuned_on)):
        if value is not None:
            words += [flag, str(value)]
    command = shlex.join(words)
    try:
        lm = build_from_corpus(args.order, cuts, root=args.corpus, command=command, academic=args.academic_docs)
    except FileNotFoundError as exc:
        raise UserError(f"{exc}: corpus not built (run `yomitori data corpus`)") from None
    fusion = {k: v for k, v in (("lm_weight", args.lm_weight), ("insertion_bonus", args.lm_bonus),
                                ("beam_width", args.beam_width), ("prune", args.prune)) if v is not None}
    if fusion:
        lm.meta["fusion"] = {**fusion, **({"tuned_on": args.tuned_on} if args.tuned_on else {})}
    lm.meta["name"] = args.out.stem
    path, json_path = lm.save(args.out)
    t0 = time.perf_counter()
    load_lm(path)
    print(json.dumps({"wrote": [str(path), str(json_path)], "bytes": path.stat().st_size,
                      "load_seconds": round(time.perf_counter() - t0, 4), "ngrams_kept": lm.meta["ngrams_kept"],
                      "build_seconds": lm.meta["build_seconds"]}, ensure_ascii=False))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "preview":
        return _preview(args)
    if args.action == "build":
        return _build(args)
    if args.action == "lm":
        return _lm(args)
    if args.action == "corpus":
        from yomitori.data.corpus import PACKAGES, build_corpus

        meta = build_corpus(args.out, args.packages or PACKAGES, eval_percent=args.eval_percent)
        print(json.dumps({k: v for k, v in meta.items() if k != "sources"}, ensure_ascii=False))
        return 0
    from yomitori.data.fonts import coverage_report

    for row in coverage_report():
        print("\t".join(str(v) for v in row.values()))
    return 0
