"""Terminal progress: a tqdm bar on a terminal, plain log lines otherwise (CI, files, pipes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Per-epoch progress with loss, samples/s and ETA.

    ``mode``: "auto" (bar on a TTY, lines otherwise), "bar", "lines" or "off".
    """

    def __init__(self, total_steps: int, desc: str, mode: str = "auto", every: int = 100,
                 stream: TextIO | None = None, initial: int = 0) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode, self.total, self.desc, self.every = mode, total_steps, desc, every
        self.step, self.samples, self.t0 = initial, 0, time.perf_counter()
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=initial, desc=desc, file=self.stream,
                            dynamic_ncols=True, leave=True, mininterval=0.5)

    def update(self, batch_size: int, loss: float | None = None) -> None:
        self.step += 1
        self.samples += batch_size
        if self.mode == "off":
            return
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        rate = self.samples / elapsed
        if self.bar is not None:
            if self.step % 10 == 0 or self.step == self.total:
                self.bar.set_postfix(loss=f"{loss:.4f}" if loss is not None else "-", sps=f"{rate:.0f}",
                                     refresh=False)
            self.bar.update(1)
        elif self.step % self.every == 0 or self.step == self.total:
            eta = (self.total - self.step) * elapsed / max(self.step, 1)
            loss_s = f" loss {loss:.4f}" if loss is not None else ""
            print(f"{self.desc} step {self.step}/{self.total}{loss_s} {rate:.0f} samples/s eta {eta:.0f}s",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
