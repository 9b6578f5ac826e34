"""Deterministic batching of in-memory arrays.

The order of epoch e is a permutation drawn from (seed, e); batch i of the
stream is therefore a pure function of (seed, step), which is what makes a
resumed run see exactly the batches an uninterrupted one would. Each process
of a multi-host run takes its contiguous slice of the global batch.
"""

import dataclasses

import numpy as np

from jaxgen import rng as rng_lib
from jaxgen.data.protocol import binarize_fixed


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about the data."""

    shape: tuple[int, ...]  # one example's 'x', e.g. (28, 28, 1) or (2,)
    num_classes: int  # 0 when unlabelled
    num_bins: int | None  # grey levels of quantised data (256, 17, 2), None if continuous
    num_train: int
    num_test: int
    vocab_size: int = 0  # token ids 0..vocab_size-1 of text data ('x' is [block_size + 1] ids); 0 otherwise
    token_chars: tuple[int, ...] = ()  # text: characters each id stands for (vocab_size + 1 entries, padding last)


def process_slice(lo: int, hi: int, process_index: int, process_count: int) -> slice:
    """Process `process_index`'s contiguous share of rows lo..hi of a global batch (the rows its
    devices hold: a multi-process Mesh lists the devices process by process)."""
    per = (hi - lo) // process_count
    return slice(lo + process_index * per, lo + (process_index + 1) * per)


def to_model_input(x: np.ndarray, scale: float | None) -> np.ndarray:
    """Stored values -> model input: float32 (divided by `scale`, e.g. 255, when given), or int32
    token ids as they are (integers without a scale)."""
    if scale is None and np.issubdtype(x.dtype, np.integer):
        return x.astype(np.int32)
    x = x.astype(np.float32)
    return x / scale if scale else x


@dataclasses.dataclass
class Batcher:
    """Draws training batches by step and test batches by position.

    Arrays are {'x': [N, ...] (uint8 or float), 'label': [N]}; batches are
    {'x': float32 in [0, 1] for images, 'label': int32, 'index' (the stream position that keys
    per-example noise: [B, 2] uint32 high and low words in training batches, [B] int32 in test
    batches), 'mask': float32 (test batches only; 0 marks padding)}.
    """

    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    batch_size: int
    seed: int
    scale: float | None = None  # divide 'x' by this (255 for uint8 images)
    binarize: bool = False  # dynamic binarisation: x ~ Bernoulli(x) anew every draw
    process_index: int = 0
    process_count: int = 1
    _binary_test: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _order: tuple[int, np.ndarray] | None = dataclasses.field(default=None, repr=False)  # (epoch, permutation)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train["x"]) // self.batch_size

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, batch within the epoch) of training step `step`."""
        return divmod(step, self.steps_per_epoch)

    def _local(self, lo: int, hi: int) -> slice:
        return process_slice(lo, hi, self.process_index, self.process_count)

    def _finish(self, arrays: dict, idx: np.ndarray, rng: np.random.Generator | None = None) -> dict:
        """Gather rows `idx`; binarise them with `rng` unless it is None: uniforms are drawn for
        the whole global batch and this process keeps its rows, so every process count
        binarises an example alike."""
        x = to_model_input(arrays["x"][idx], self.scale)
        if self.binarize and rng is not None:
            u = rng.random((self.batch_size, *x.shape[1:]), dtype=np.float32)[self._local(0, self.batch_size)]
            x = (u < x).astype(np.float32)
        batch = {"x": x, "index": idx.astype(np.int32)}
        if "label" in arrays:
            batch["label"] = arrays["label"][idx].astype(np.int32)
        return batch

    def _epoch_order(self, epoch: int) -> np.ndarray:
        """The permutation of epoch `epoch`, drawn from (seed, epoch) once and kept for its batches."""
        cached = self._order  # one read: the prefetch thread and the caller may both ask
        if cached is None or cached[0] != epoch:
            cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.train["x"])))
            self._order = cached
        return cached[1]

    def train_batch(self, step: int) -> dict:
        """This process's share of the global training batch of `step`."""
        epoch, i = self.position(step)
        order = self._epoch_order(epoch)
        local = self._local(i * self.batch_size, (i + 1) * self.batch_size)
        idx = order[local]
        batch = self._finish(self.train, idx, np.random.default_rng([self.seed, epoch, i, 0]))
        # (the trailing 0 keeps the draws of one-process runs made when each process drew its own)
        # The stream position, not the dataset row, keys per-example noise: distinct across epochs
        # (64-bit, as high and low words: never wraps), identical whatever the device layout.
        local = self._local(step * self.batch_size, (step + 1) * self.batch_size)
        batch["index"] = rng_lib.position_words(np.arange(local.start, local.stop, dtype=np.uint64))
        return batch

    def test_batches(self, batch_size: int, limit: int = 0):
        """Yield the test set in order, padded to full batches ('mask' 0 on padding): whole
        batches on every process (each puts its own rows on its devices).

        With dynamic binarisation the test set is the likelihood protocol's one fixed
        binarisation (jaxgen/data/protocol.py): the same binary images for every evaluation,
        seed and family.
        """
        n = len(self.test["x"]) if limit <= 0 else min(limit, len(self.test["x"]))
        binary = None
        if self.binarize:
            if self._binary_test is None:
                self._binary_test = binarize_fixed(to_model_input(self.test["x"], self.scale))
            binary = self._binary_test
        for lo in range(0, n, batch_size):
            idx = np.arange(lo, lo + batch_size)
            mask = (idx < n).astype(np.float32)
            idx = np.minimum(idx, n - 1)
            batch = self._finish(self.test, idx)
            if binary is not None:
                batch["x"] = binary[idx]
            batch["mask"] = mask
            yield batch
