"""Metric writers: JSONL and TensorBoard event files in the workdir, plus a
tqdm progress bar showing the loss and steps/s."""

import json
import math
import os
import time

import numpy as np
from tensorboardX import SummaryWriter
from tqdm import tqdm


class MetricWriter:
    """Writes scalars to `workdir/metrics.jsonl` and `workdir/tensorboard/`."""

    def __init__(self, workdir: str, enabled: bool = True):
        self.enabled = enabled
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard")) if enabled else None

    def write(self, step: int, split: str, scalars: dict) -> None:
        if not self.enabled:
            return
        clean = {k: float(v) for k, v in scalars.items()}
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, "split": split, **clean}) + "\n")
        for k, v in clean.items():
            if math.isfinite(v):
                self._tb.add_scalar(f"{split}/{k}", v, step)
        self._tb.flush()

    def write_image(self, step: int, tag: str, image: np.ndarray) -> None:
        """image: [H, W, C] uint8."""
        if self.enabled:
            self._tb.add_image(tag, image, step, dataformats="HWC")
            self._tb.flush()

    def write_text(self, step: int, tag: str, text: str) -> None:
        """Markdown text (TensorBoard's text tab), e.g. decoded samples."""
        if self.enabled:
            self._tb.add_text(tag, text, step)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


class Progress:
    """tqdm bar over steps with the latest loss and the measured steps/s."""

    def __init__(self, start: int, total: int, enabled: bool = True):
        self._bar = tqdm(total=total, initial=start, disable=not enabled, dynamic_ncols=True, unit="step")
        self._last_step, self._last_time = start, time.perf_counter()

    def update(self, step: int, scalars: dict) -> float:
        """Advance to `step`; returns steps/s since the last call."""
        now = time.perf_counter()
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._bar.update(step - self._last_step)
        shown = {k: f"{scalars[k]:.4g}" for k in ("loss",) if k in scalars}
        self._bar.set_postfix(shown, steps_per_s=f"{rate:.1f}")
        self._last_step, self._last_time = step, now
        return rate

    def close(self) -> None:
        self._bar.close()
