"""The text-line recognition task: synthetic lines, CTC loss, CER/line accuracy evaluation.

Training samples are a pure function of (seed, epoch, index), so each epoch sees new lines and
a resumed run sees exactly the lines it would have seen. Evaluation uses the held-out fonts and
held-out documents of the data engine (``split="eval"``), half vertical, with a fixed seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from yomitori.recognition.ctc import greedy_decode
from yomitori.recognition.metrics import edit_distance
from yomitori.recognition.prepare import batch_lines, prepare_line
from yomitori.train.tasks import TASKS, EvalStats


class LineStream(Dataset):
    """Item ``i`` of epoch ``e`` is ``render_line(seed, offset + e * size + i)``."""

    def __init__(self, seed: int, size: int, cfg: Any, height: int, charset: Any, per_epoch: bool = True,
                 offset: int = 0) -> None:
        self.seed, self.size, self.cfg, self.height, self.charset = seed, size, cfg, height, charset
        self.per_epoch, self.offset, self.epoch = per_epoch, offset, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> tuple[np.ndarray, list[int], bool, str]:
        from yomitori.data.lines import render_line

        index = self.offset + (self.epoch * self.size if self.per_epoch else 0) + i
        s = render_line(self.seed, index, self.cfg)
        return prepare_line(s.image, s.vertical, self.height), self.charset.encode(s.text), s.vertical, s.text


class ShardLines(Dataset):
    """Pre-rendered lines (``yomitori data build lines``) from one or more shard folders, map-style.

    The PNG bytes of every sample stay in memory (a few KB each); decoding happens per item, so
    workers and the seeded sampler behave exactly as with rendered streams.
    """

    def __init__(self, roots: list[str], height: int, charset: Any, take: int = 0, seed: int = 0) -> None:
        import io

        from yomitori.data.shards import shard_records

        self.height, self.charset = height, charset
        self.items: list[tuple[bytes, str, bool]] = []
        self._io = io
        for png, meta in shard_records(roots, "lines"):
            self.items.append((png, meta["text"], bool(meta["vertical"])))
        if take and take < len(self.items):  # a seeded subset drawn across all folders
            keep = np.random.default_rng(seed).choice(len(self.items), take, replace=False)
            self.items = [self.items[i] for i in sorted(keep.tolist())]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> list[int]:
        """Long side of each line in pixels (from the PNG header), for width bucketing."""
        import struct

        out = []
        for png, _, _ in self.items:
            w, h = struct.unpack(">II", png[16:24])
            out.append(max(w, h))
        return out

    def __getitem__(self, i: int) -> tuple[np.ndarray, list[int], bool, str]:
        from PIL import Image

        png, text, vertical = self.items[i]
        image = np.asarray(Image.open(self._io.BytesIO(png)).convert("L"))
        return prepare_line(image, vertical, self.height), self.charset.encode(text), vertical, text


def collate_lines(items: list) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    arrays, labels, vertical, texts = zip(*items, strict=True)
    x, frames = batch_lines(list(arrays))
    inputs = {"image": torch.from_numpy(x), "vertical": torch.tensor(vertical, dtype=torch.long),
              "frames": torch.from_numpy(frames)}
    # CTC class 0 is the blank: charset index i is class i + 1 (the decoders subtract the 1)
    target = {"labels": torch.tensor([i + 1 for ids in labels for i in ids], dtype=torch.long),
              "lengths": torch.tensor([len(ids) for ids in labels], dtype=torch.long), "texts": list(texts),
              "frames": torch.from_numpy(frames),
              "vertical": list(vertical)}
    return inputs, target


class LinesTask:
    name = "lines"
    metric = "char_accuracy"  # 1 - CER, higher is better

    def __init__(self, height: int = 32, vertical_prob: float = 0.5, train_size: int = 20000,
                 eval_size: int = 600, degrade: float = 0.0, max_chars: int = 24, eval_degrade: float = 0.0,
                 eval_seed: int = 12345, shards: str = "", take: int = 0) -> None:
        from yomitori.charset import default_charset

        self.charset = default_charset()
        self.height, self.vertical_prob, self.train_size, self.eval_size = height, vertical_prob, train_size, eval_size
        self.degrade, self.max_chars, self.eval_degrade, self.eval_seed = degrade, max_chars, eval_degrade, eval_seed
        self.shards = [p for p in shards.split(",") if p] if isinstance(shards, str) else list(shards)
        self.take = take
        self.collate = collate_lines

    def datasets(self, cfg: Any) -> tuple[Dataset, Dataset]:
        from yomitori.data.lines import LineConfig

        train_cfg = LineConfig(height_px=self.height, split="train", vertical_prob=self.vertical_prob,
                               degrade_strength=self.degrade, max_chars=self.max_chars)
        eval_cfg = LineConfig(height_px=self.height, split="eval", vertical_prob=self.vertical_prob,
                              degrade_strength=self.eval_degrade, max_chars=self.max_chars)
        n_train = cfg.limit_train or self.train_size
        n_eval = cfg.limit_test or self.eval_size
        if self.shards:
            train: Dataset = ShardLines(self.shards, self.height, self.charset, take=self.take, seed=cfg.seed)
            if cfg.limit_train:
                train = torch.utils.data.Subset(train, range(min(cfg.limit_train, len(train))))
        else:
            train = LineStream(cfg.seed, n_train, train_cfg, self.height, self.charset)
        return (train,
                LineStream(self.eval_seed, n_eval, eval_cfg, self.height, self.charset, per_epoch=False))

    def model_kwargs(self) -> dict[str, Any]:
        return {"num_classes": len(self.charset), "height": self.height}

    def weights_meta(self) -> dict[str, Any]:
        return {"charset_sha256": self.charset.sha256, "charset_size": len(self.charset), "height": self.height,
                "stride": 4}

    @staticmethod
    def forward(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(inputs["image"], inputs["vertical"])

    @staticmethod
    def batch_size_of(target: dict[str, Any]) -> int:
        return len(target["lengths"])

    def loss(self, output: torch.Tensor, target: dict[str, Any]) -> torch.Tensor:
        # output: (N, T, C+1) -> CTC wants (T, N, C+1) log-probs. Each line's own frames are its
        # input length, so no character can be emitted in the padding (decoding stops there too).
        log_probs = F.log_softmax(output.float(), dim=-1).transpose(0, 1)
        input_lengths = target["frames"].cpu().clamp(max=output.shape[1])
        return F.ctc_loss(log_probs, target["labels"].cpu(), input_lengths, target["lengths"].cpu(), blank=0,
                          reduction="mean", zero_infinity=True)

    def to_display(self, images: torch.Tensor) -> torch.Tensor:
        return 1.0 - images.clamp(0, 1)

    def eval_batch(self, stats: EvalStats, output: torch.Tensor, target: dict[str, Any], inputs: Any,
                   max_examples: int = 16) -> None:
        stats.add("loss_sum", self.loss(output, target).item() * len(target["texts"]))
        logits = output.float().cpu().numpy()
        frames = inputs["frames"].cpu().numpy()
        for i, (ref, vert) in enumerate(zip(target["texts"], target["vertical"], strict=True)):
            hyp = self.charset.decode(greedy_decode(logits[i], int(frames[i])).ids)
            d = edit_distance(hyp, ref)
            kind = "v" if vert else "h"
            stats.add("count", 1)
            stats.add("edits", d)
            stats.add("chars", len(ref))
            stats.add("lines_ok", d == 0)
            stats.add(f"edits_{kind}", d)
            stats.add(f"chars_{kind}", len(ref))
            if len(stats.examples) < max_examples:
                img = inputs["image"][i, :, :, : int(frames[i]) * 4].detach().cpu()
                stats.examples.append((img, f"{ref} → {hyp}"))

    def summarize(self, stats: EvalStats) -> dict[str, float]:
        s = stats.sums
        cer = s.get("edits", 0.0) / max(s.get("chars", 0.0), 1.0)
        return {"loss": s.get("loss_sum", 0.0) / max(s.get("count", 0.0), 1.0), "cer": cer,
                "char_accuracy": 1.0 - cer, "line_accuracy": s.get("lines_ok", 0.0) / max(s.get("count", 0.0), 1.0),
                "cer_horizontal": s.get("edits_h", 0.0) / max(s.get("chars_h", 0.0), 1.0),
                "cer_vertical": s.get("edits_v", 0.0) / max(s.get("chars_v", 0.0), 1.0),
                "count": s.get("count", 0.0)}


TASKS["lines"] = LinesTask
