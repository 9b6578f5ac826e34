"""The likelihood protocol's test sets: what every family's test log-likelihood is measured on.

Training may binarise dynamically (a new Bernoulli draw per visit), but the test split of a
binarised run is binarised exactly once, the same way for every family, seed and run: pixel
on with its intensity as probability, drawn with the fixed seed `TEST_BINARIZATION_SEED` over
the whole split. Each test set carries a checksum (SHA-256 of its bytes) that results record, so
two numbers are put side by side only when they were measured on the same images. 8-bit data is
tested as stored (integers over 256 levels; digits: 17) with its dequantisation stated: a
family with a discrete likelihood scores the levels themselves; a continuous density scores
them uniformly dequantised, x = (k + u) / B with u ~ U[0, 1)^D drawn once with the fixed seed
`TEST_DEQUANTIZATION_SEED`, and log P(k) >= E_u log p(x) - D log B turns its log-density into a
bound on the same discrete log-likelihood. The checksum is of the images before any
dequantisation noise, so both kinds of result share a protocol.

Text is measured per character whatever the tokenizer: the test set is the validation split's
characters (checksum of its UTF-8 bytes), cut into windows of token ids that predict each of them
once (jaxgen/data/text.py); a result counts characters, not windows, so models with different
tokenizers or context lengths share a table.
"""

import dataclasses
import hashlib

import numpy as np

TEST_BINARIZATION_SEED = 0  # one binarisation of every test split, independent of config.seed
TEST_DEQUANTIZATION_SEED = 1  # one uniform dequantisation noise of every 8-bit test split


@dataclasses.dataclass(frozen=True)
class TestSet:
    """A split as the protocol measures it."""

    x: np.ndarray  # [N, ...] float32 model input: binary, or in [0, 1] (images), or raw (2-D data)
    label: np.ndarray | None  # [N] int
    data: str  # dataset name
    binarized: bool
    num_bins: int | None  # grey levels of the stored values (2 when binarised, None when continuous)
    checksum: str  # SHA-256 of the images' bytes (float32, before dequantisation noise), first 16 hex digits
    dequantized: bool = False  # x = (k + u) / num_bins, u ~ U[0, 1) drawn once (else k / (num_bins - 1))
    unit: str = "example"  # what a log-likelihood is averaged over: 'example', or 'character' (text)
    num_units: int = 0  # characters the windows predict (text)

    @property
    def num_examples(self) -> int:
        return len(self.x)

    def describe(self) -> dict:
        """The protocol fields a result records about its test set."""
        out = {"data": self.data, "test_examples": self.num_examples, "test_checksum": self.checksum,
               "binarized": self.binarized, "num_bins": self.num_bins, "dequantized": self.dequantized}
        if self.unit != "example":
            out.update(unit=self.unit, units=self.num_units)
        return out

    def batches(self, batch_size: int):
        """The set in order, padded to full batches: {'x', 'index', 'mask' (0 on padding), 'label'?}."""
        n = self.num_examples
        for lo in range(0, n, batch_size):
            idx = np.arange(lo, lo + batch_size)
            mask = (idx < n).astype(np.float32)
            idx = np.minimum(idx, n - 1)
            batch = {"x": self.x[idx], "index": idx.astype(np.int32), "mask": mask}
            if self.label is not None:
                batch["label"] = self.label[idx].astype(np.int32)
            yield batch


def checksum(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x, np.float32).tobytes()).hexdigest()[:16]


def binarize_fixed(x01: np.ndarray) -> np.ndarray:
    """The protocol's one binarisation of a whole split (float32 {0, 1}, same shape)."""
    rng = np.random.default_rng(TEST_BINARIZATION_SEED)
    return (rng.random(x01.shape, dtype=np.float32) < x01).astype(np.float32)


def dequantize(levels: np.ndarray, num_bins: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform dequantisation of integer levels k in [0, num_bins): (k + u) / num_bins in [0, 1)."""
    return ((levels.astype(np.float32) + rng.random(levels.shape, dtype=np.float32)) / num_bins).astype(np.float32)


def test_set(split: dict[str, np.ndarray], scale: float | None, data: str, binarize: bool, num_bins: int | None,
             limit: int = 0, dequantized: bool = False) -> TestSet:
    """The protocol's view of a test split ({'x': stored values, 'label'?}), its first `limit`
    examples (0: all). The binarisation and the dequantisation noise are drawn over the whole
    split before the cut, so a shorter evaluation sees a prefix of the same images."""
    x = split["x"].astype(np.float32)
    x = x / scale if scale else x
    if binarize:
        x = binarize_fixed(x)
    n = len(x) if limit <= 0 else min(limit, len(x))
    label = split["label"][:n] if "label" in split else None
    digest = checksum(x[:n])
    if dequantized:
        if binarize or not num_bins:
            raise ValueError(f"{data}: only quantised (8-bit, grey-level) images are dequantised")
        noisy = dequantize(split["x"], num_bins, np.random.default_rng(TEST_DEQUANTIZATION_SEED))
        x = noisy
    return TestSet(x[:n], label, data, binarize, 2 if binarize else num_bins, digest, dequantized)


def text_test_set(split: dict[str, np.ndarray], token_chars: np.ndarray, checksum_: str, data: str,
                  limit: int = 0, target_start: int = 1) -> TestSet:
    """The protocol's view of a text test split ({'x': int32 windows [M, block + 1], or packed
    pairs whose targets begin at column target_start}): its first `limit` rows (0: all), counted
    in the characters their targets stand for (special ids count 0)."""
    n = len(split["x"]) if limit <= 0 else min(limit, len(split["x"]))
    x = np.asarray(split["x"][:n])
    table = np.concatenate([token_chars, np.zeros(8, token_chars.dtype)])  # ids past the padding: specials
    chars = int(table[x[:, target_start:]].sum())
    suffix = "" if n == len(split["x"]) else f":first{n}windows"
    return TestSet(x, None, data, False, None, checksum_ + suffix, unit="character", num_units=chars)
