"""Japanese character recognition: the MNIST recipe carried to ~7,000 kana and kanji.

Training samples come from the data engine's character renderer (printed, handwriting and brush
fonts of the training split, and KanjiVG strokes), either as a per-epoch stream (item ``i`` of
epoch ``e`` is ``render_char(seed, e * train_size + i)``, so every epoch sees new samples and a
resumed run sees exactly what it would have) or from pre-rendered shards
(``yomitori data build chars``). Every picture goes through
:func:`yomitori.data.char_preprocess.prepare_char`, the same function ``yomitori predict`` uses.

Evaluation renders the held-out fonts only, one fixed stream per style: printed (BIZ UD, Motoya,
Dejima), handwriting (Klee One, Yusei Magic; a *proxy*: no real Japanese handwriting is
available) and brush (Aoyagi Soseki), with top-1/top-5 per style and per character group (kana,
Jōyō, JIS level 1, level 2, other). A separate calibration stream (held-out fonts, another seed)
fits the softmax temperature; ECE before and after is measured on the test streams.

Options (``--set key=value``): ``input_size`` (48 | 64), ``classes`` (``all``; or ``+``-joined
parts: a group name such as ``kana``/``joyo``/``jis1``, ``random:N`` for a seeded sample of the
charset, ``chars:あいう``), ``train_size`` (samples per epoch), ``eval_size`` (per style),
``calib_size``, ``shards`` (comma list of shard folders), ``degrade`` (scan degradation strength
for training), ``source_weights`` (``printed:0.5,handwriting:0.2,brush:0.1,kanjivg:0.2``),
``fonts`` (comma list of font families to restrict both splits to; tests), ``render_px``,
``backbone`` (a line-recognizer ``.safetensors`` whose backbone warm-starts ``resnet_lines``).

The shipped default (docs/chars.md) warm-starts ``resnet_lines`` from the line recognizer::

    yomitori train --task chars --model resnet_lines --set input_size=48 --set shards=data/chars_train \\
        --set backbone=src/yomitori/weights/lines_crnn.safetensors --epochs 3 --batch-size 128 \\
        --optimizer adamw --lr 1e-3 --warmup-epochs 0.05 --threads 2 --out runs/chars_resnet_lines \\
        --save-weights data/chars_resnet_lines.safetensors

From scratch, on a GPU (8 M fresh samples, rendered by 14 workers)::

    yomitori train --task chars --model resnet18 --set input_size=48 --set train_size=500000 \\
        --epochs 16 --batch-size 256 --optimizer adamw --lr 2e-3 --warmup-epochs 0.5 \\
        --num-workers 14 --device cuda --out runs/chars_resnet18 \\
        --save-weights src/yomitori/weights/chars_resnet18.safetensors
"""

from __future__ import annotations

import functools
import io
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from yomitori.charset import Charset, default_charset, named_subsets
from yomitori.data.char_preprocess import CharPrep, NoInkError, prepare_char
from yomitori.errors import UserError
from yomitori.recognition import calibration as cal
from yomitori.train.tasks import TASKS, ClassificationTask, EvalStats

STYLES = ("printed", "handwriting", "brush")
CALIB = len(STYLES)  # style id of the calibration stream
GROUPS = ("kana", "joyo", "jis1", "jis2", "other")  # overlapping: Jōyō kanji are in JIS 1 or 2
DEFAULT_SOURCES = "printed:0.5,handwriting:0.2,brush:0.1,kanjivg:0.2"


def resolve_classes(spec: str) -> list[str]:
    """The label characters a spec names, in charset order (see the module docstring)."""
    cs = default_charset()
    if spec in ("", "all"):
        return list(cs.chars)  # index i is charset index i (space included, never drawn)
    chosen: set[str] = set()
    pool = [c for c in cs.chars if c != " "]
    subsets = named_subsets()
    for part in spec.split("+"):
        if part.startswith("random:"):
            n, *seed = part.split(":")[1:]
            rng = np.random.default_rng(int(seed[0]) if seed else 0)
            chosen |= {pool[i] for i in rng.choice(len(pool), min(int(n), len(pool)), replace=False)}
        elif part.startswith("chars:"):
            chosen |= set(cs.normalize(part[6:]).replace(" ", ""))
        elif part in subsets:
            chosen |= subsets[part] & set(pool)
        else:
            raise UserError(f"classes: unknown part {part!r} (all, {', '.join(sorted(subsets))}, "
                            "random:N[:SEED], chars:XYZ)")
    missing = chosen - set(cs.chars)
    if missing:
        raise UserError(f"classes: not in the charset: {''.join(sorted(missing))}")
    labels = [c for c in cs.chars if c in chosen]
    if len(labels) < 2:
        raise UserError(f"classes {spec!r}: need at least 2 characters, got {len(labels)}")
    return labels


def parse_weights(spec: str) -> tuple[tuple[str, float], ...]:
    out = []
    for item in spec.split(","):
        name, _, w = item.partition(":")
        if name not in (*STYLES, "kanjivg"):
            raise UserError(f"source_weights: unknown source {name!r} (printed, handwriting, brush, kanjivg)")
        out.append((name, float(w or 1.0)))
    return tuple(out)


@functools.cache
def drawable(split: str, style: str, fonts: tuple[str, ...]) -> frozenset[str]:
    """Characters that some installed font of this split and style really draws."""
    from yomitori.data.fonts import list_fonts, renderable_chars

    out: set[str] = set()
    for f in list_fonts(split, style):
        if not fonts or f.family in fonts:
            out |= renderable_chars(f)
    return frozenset(out)


def _prepare(image: np.ndarray, prep: CharPrep) -> torch.Tensor:
    try:
        return torch.from_numpy(prepare_char(image, prep))[None]
    except NoInkError:  # a glyph that renders empty at this size: an all-paper input
        return torch.full((1, prep.input_size, prep.input_size), -prep.mean / prep.std)


class CharStream(Dataset):
    """Item ``i`` of epoch ``e``: ``render_char(seed, e * size + i, cfg)`` prepared, with its label."""

    def __init__(self, seed: int, size: int, cfg: Any, prep: CharPrep, index: dict[str, int],
                 per_epoch: bool = True) -> None:
        self.seed, self.size, self.cfg, self.prep, self.index = seed, size, cfg, prep, index
        self.per_epoch, self.epoch = per_epoch, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from yomitori.data.chars import render_char

        s = render_char(self.seed, (self.epoch * self.size if self.per_epoch else 0) + i, self.cfg)
        return _prepare(s.image, self.prep), self.index[s.label]


class ShardChars(Dataset):
    """Pre-rendered characters (``yomitori data build chars``), kept as PNG bytes in memory.

    Samples whose label is not a class of this task are skipped (a class subset reads the
    full-charset shards).
    """

    def __init__(self, roots: list[str], prep: CharPrep, index: dict[str, int]) -> None:
        self.prep, self.index = prep, index
        self.items: list[tuple[bytes, int]] = []
        from yomitori.data.shards import shard_records

        for png, meta in shard_records(roots, "chars"):
            if meta["label"] in index:
                self.items.append((png, index[meta["label"]]))
        if not self.items:
            raise UserError(f"{', '.join(roots)}: no samples of this task's classes")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        png, label = self.items[i]
        return _prepare(np.asarray(Image.open(io.BytesIO(png)).convert("L")), self.prep), label


class EvalChars(Dataset):
    """Fixed held-out streams, one after another: ``parts = [(style_id, seed, cfg, count)]``.

    Target per item: ``(label, style_id)`` as a (2,) long tensor.
    """

    def __init__(self, parts: list[tuple[int, int, Any, int]], prep: CharPrep, index: dict[str, int]) -> None:
        self.parts, self.prep, self.index = parts, prep, index
        self.starts = np.cumsum([0] + [p[3] for p in parts])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        from yomitori.data.chars import render_char

        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        style, seed, cfg, _ = self.parts[k]
        s = render_char(seed, i - int(self.starts[k]), cfg)
        return _prepare(s.image, self.prep), torch.tensor([self.index[s.label], style])


class CharsTask(ClassificationTask):
    """Single-character classification over the charset (or a subset of it)."""

    name = "chars"
    metric = "accuracy"

    def __init__(self, input_size: int = 48, classes: str = "all", train_size: int = 100_000,
                 eval_size: int = 1000, calib_size: int = 1000, eval_seed: int = 20240,
                 shards: str = "", degrade: float = 0.0, source_weights: str = DEFAULT_SOURCES,
                 fonts: str = "", render_px: int = 64, backbone: str = "") -> None:
        if int(input_size) < 16:
            raise UserError(f"input_size {input_size}: use 48 or 64")
        self.prep = CharPrep(input_size=int(input_size))
        self.input_size = int(input_size)
        self.classes = str(classes)
        self.labels = resolve_classes(self.classes)
        self.num_classes = len(self.labels)
        self.index = {c: i for i, c in enumerate(self.labels)}
        self.train_size, self.eval_size, self.calib_size = int(train_size), int(eval_size), int(calib_size)
        self.eval_seed, self.degrade, self.render_px = int(eval_seed), float(degrade), int(render_px)
        self.shards = [p for p in str(shards).split(",") if p]
        self.source_weights = parse_weights(source_weights)
        self.fonts = tuple(f for f in str(fonts).split(",") if f)
        self.backbone = str(backbone)  # warm start of the shared stages (resnet_lines) from a line model
        subsets = named_subsets()
        member = [[c in subsets[g] for g in GROUPS[:-1]] for c in self.labels]
        groups = torch.tensor(member, dtype=torch.bool).reshape(len(self.labels), len(GROUPS) - 1)
        self.groups = torch.cat([groups, ~groups.any(1, keepdim=True)], 1)  # (classes, G)
        self.styles_used: list[str] = []
        self._epochs: list[dict[str, float]] = []  # calibration per evaluated epoch

    # ---- data -----------------------------------------------------------------------------------
    def _char_cfg(self, split: str, chars: str, weights: tuple[tuple[str, float], ...], degrade: float):
        from yomitori.data.chars import CharConfig

        return CharConfig(size_px=self.render_px, split=split, source_weights=weights, chars=chars,
                          fonts=self.fonts, degrade_strength=degrade)

    def datasets(self, cfg: Any) -> tuple[Dataset, Dataset]:
        drawn = "".join(c for c in self.labels if c != " ")
        if self.shards:
            train: Dataset = ShardChars(self.shards, self.prep, self.index)
            if cfg.limit_train:
                train = torch.utils.data.Subset(train, range(min(cfg.limit_train, len(train))))
        else:
            train = CharStream(cfg.seed, cfg.limit_train or self.train_size,
                               self._char_cfg("train", drawn, self.source_weights, self.degrade),
                               self.prep, self.index)
        per_style = cfg.limit_test or self.eval_size
        parts, calib_chars, self.styles_used = [], set(), []
        for sid, style in enumerate(STYLES):
            chars = "".join(c for c in drawn if c in drawable("eval", style, self.fonts))
            if not chars:
                print(f"chars: no held-out {style} font draws these classes; that style is skipped")
                continue
            calib_chars |= set(chars)
            self.styles_used.append(style)
            parts.append((sid, self.eval_seed + sid, self._char_cfg("eval", chars, ((style, 1.0),), 0.0),
                          per_style))
        if not parts:
            raise UserError("no held-out (evaluation) font is installed: bash scripts/install_fonts.sh full")
        if self.calib_size:
            weights = tuple((s, 1.0) for s in self.styles_used)
            chars = "".join(c for c in drawn if c in calib_chars)
            parts.append((CALIB, self.eval_seed + 100, self._char_cfg("eval", chars, weights, 0.0),
                          self.calib_size))
        return train, EvalChars(parts, self.prep, self.index)

    def model_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"num_classes": self.num_classes, "in_chans": 1, "input_size": self.input_size}
        if self.backbone:
            kw["backbone_weights"] = self.backbone
        return kw

    def to_display(self, images: torch.Tensor) -> torch.Tensor:
        from yomitori.data.char_preprocess import to_display

        return to_display(images, self.prep)

    # ---- evaluation -----------------------------------------------------------------------------
    def eval_batch(self, stats: EvalStats, output: torch.Tensor, target: torch.Tensor,
                   inputs: torch.Tensor, max_examples: int = 32) -> None:
        # Every key is added on every batch, zeros included: under DDP each rank all-reduces
        # its sums by sorted key, so the key sets must not depend on which samples a rank got.
        logits = output.float().cpu()
        label, style = target[:, 0].cpu(), target[:, 1].cpu()
        calib = style == CALIB
        test = ~calib
        stats.sums.update(_add(stats.sums, cal.grid_stats(logits[calib], label[calib], "cal/", nll_sums=True)))
        stats.sums.update(_add(stats.sums, cal.grid_stats(logits[test], label[test], "ece/", bins=True)))
        z, y, st = logits[test], label[test], style[test]
        stats.add("loss_sum", F.cross_entropy(z, y, reduction="sum").item() if len(y) else 0.0)
        k = min(5, z.shape[1])
        top = z.topk(k, 1).indices
        hit1, hit5 = top[:, 0] == y, (top == y[:, None]).any(1)
        groups = self.groups[y]  # (n, G)
        for sid, name in enumerate(STYLES):
            m = st == sid
            stats.add(f"{name}/n", m.sum().item())
            stats.add(f"{name}/top1", hit1[m].sum().item())
            stats.add(f"{name}/top5", hit5[m].sum().item())
            for g, gname in enumerate(GROUPS):
                mg = m & groups[:, g]
                stats.add(f"{name}/{gname}/n", mg.sum().item())
                stats.add(f"{name}/{gname}/top1", hit1[mg].sum().item())
                stats.add(f"{name}/{gname}/top5", hit5[mg].sum().item())
        wrong = (~hit1).nonzero().flatten().tolist()
        idx = test.nonzero().flatten()
        for i in wrong[: max(0, max_examples - len(stats.examples))]:
            caption = f"true {self.labels[y[i]]} pred {self.labels[top[i, 0]]} ({STYLES[st[i]]})"
            stats.examples.append((inputs[idx[i]].detach().cpu(), caption))

    def summarize(self, stats: EvalStats) -> dict[str, float]:
        s = stats.sums
        n = sum(s.get(f"{name}/n", 0.0) for name in STYLES)
        out = {"loss": s.get("loss_sum", 0.0) / max(n, 1.0),
               "accuracy": sum(s.get(f"{name}/top1", 0.0) for name in STYLES) / max(n, 1.0),
               "top5": sum(s.get(f"{name}/top5", 0.0) for name in STYLES) / max(n, 1.0)}
        for name in STYLES:
            m = s.get(f"{name}/n", 0.0)
            if m:
                out[f"{name}_top1"] = s[f"{name}/top1"] / m
                out[f"{name}_top5"] = s[f"{name}/top5"] / m
            for gname in GROUPS:
                mg = s.get(f"{name}/{gname}/n", 0.0)
                if mg:
                    out[f"{name}_{gname}_top1"] = s[f"{name}/{gname}/top1"] / mg
        t = cal.temperature_from_stats(s, "cal/")
        out.update(temperature=t, ece=cal.ece_from_stats(s, "ece/", 1.0),
                   ece_calibrated=cal.ece_from_stats(s, "ece/", t), count=n)
        self._epochs.append({"accuracy": out["accuracy"], "temperature": t, "ece": out["ece"],
                             "ece_calibrated": out["ece_calibrated"], "calib_n": s.get("cal/n", 0.0)})
        return out

    def breakdown(self, metrics: dict[str, float]) -> str:
        """A small text table: top-1 per style (rows) and group (columns) from ``summarize``."""
        lines = ["style        all     top5   " + "  ".join(f"{g:>6}" for g in GROUPS)]
        for name in STYLES:
            if f"{name}_top1" not in metrics:
                continue
            cells = "  ".join(f"{metrics[f'{name}_{g}_top1'] * 100:6.2f}" if f"{name}_{g}_top1" in metrics
                              else f"{'-':>6}" for g in GROUPS)
            lines.append(f"{name:<12} {metrics[f'{name}_top1'] * 100:6.2f} {metrics[f'{name}_top5'] * 100:6.2f}  {cells}")
        return "\n".join(lines)

    def weights_meta(self) -> dict[str, Any]:
        """Charset hash, preprocessing and the temperature fitted at the best evaluated epoch.

        Only epochs evaluated in this process count: after ``--resume`` the temperature is that
        of the best epoch since the resume (refit with :mod:`yomitori.recognition.calibration`
        and ``write_temperature`` if the best checkpoint is older).
        """
        meta: dict[str, Any] = {
            "charset_sha256": Charset(self.labels).sha256, "charset_size": self.num_classes,
            "default_charset_sha256": default_charset().sha256, "classes": self.classes,
            "input_size": self.input_size, "preprocess": self.prep.to_meta(),
            "eval_styles": self.styles_used,
        }
        if self.backbone:  # the shipped model rebuilds without the warm-start file
            import json
            from pathlib import Path

            meta["model_kwargs"] = {k: v for k, v in self.model_kwargs().items() if k != "backbone_weights"}
            earlier = Path(self.backbone).with_suffix(".json")
            info = json.loads(earlier.read_text(encoding="utf-8")) if earlier.exists() else {}
            meta["warm_start"] = {"backbone_from": self.backbone, "model": info.get("model"),
                                  "command": info.get("command")}
        if self._epochs:  # fit() keeps the first epoch with the highest accuracy as best.pt
            best = max(self._epochs, key=lambda e: (e["accuracy"], -self._epochs.index(e)))
            meta["temperature"] = best["temperature"]
            meta["calibration"] = {"method": "temperature scaling, NLL on a held-out-font stream",
                                   "samples": best["calib_n"], "ece_before": best["ece"],
                                   "ece_after": best["ece_calibrated"], "bins": cal.N_BINS}
        return meta


def _add(sums: dict[str, float], new: dict[str, float]) -> dict[str, float]:
    return {k: sums.get(k, 0.0) + v for k, v in new.items()}


TASKS["chars"] = CharsTask
