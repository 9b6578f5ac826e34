"""A sequence-to-sequence task built from the text: punctuation and case restoration. The source
is a line lower-cased with everything but letters, digits and single spaces removed; the target
is the line as written. Lines come from the text's own split (Tiny Shakespeare: its non-empty
lines, all under 64 characters; the Markov text: consecutive 32-character pieces, whose '.'
the source drops). Metrics: nats per target character of log p(target | source) (teacher
forcing, exact) and the character error rate of decoded targets.

Packed into one int32 row per pair (so batching and the protocol are the text windows'):
  [source (max_len, padded) | BOS | target + EOS (max_len + 1, padded)]
ids: 0..V-1 characters, V padding, V + 1 BOS, V + 2 EOS.
"""

import hashlib
import re

import numpy as np

from jaxgen.data.errors import DataError
from jaxgen.data.text import TextData, char_vocabulary, text_splits

MARKOV_PIECE = 32


def corrupt(line: str) -> str:
    """The source of a target line: lower case, [a-z0-9 ] only, single spaces, stripped."""
    return re.sub(" +", " ", re.sub("[^a-z0-9 ]", "", line.lower())).strip()


def lines_of(name: str, text: str) -> list[str]:
    if name.startswith("markov"):
        return [text[i:i + MARKOV_PIECE] for i in range(0, len(text) - MARKOV_PIECE + 1, MARKOV_PIECE)]
    return [line.strip() for line in text.split("\n") if line.strip()]


def pack(lines: list[str], encode, pad: int, max_len: int) -> np.ndarray:
    """[N, 2 max_len + 2] rows of (source, BOS, target + EOS) for the lines whose source is not empty."""
    bos, eos = pad + 1, pad + 2
    rows = []
    for line in lines:
        source = corrupt(line)
        if not source:
            continue
        if len(line) > max_len:
            raise DataError(f"a line of {len(line)} characters is longer than config.data.block_size={max_len}: "
                            f"{line[:40]!r}...")
        row = np.full(2 * max_len + 2, pad, np.int32)
        row[:len(source)] = encode(source)
        row[max_len] = bos
        row[max_len + 1:max_len + 1 + len(line)] = encode(line)
        row[max_len + 1 + len(line)] = eos
        rows.append(row)
    return np.stack(rows)


def load_pairs(name: str, options: dict) -> tuple[dict, dict, TextData]:
    """Training and test pairs ({'x': int32 [N, 2 max_len + 2]}) of `name` ('*_restore') with
    max_len = options' block_size; characters only (the vocabulary of the training text)."""
    if options["tokenizer"] != "char":
        raise ValueError(f"config.data.tokenizer={options['tokenizer']!r}: the restoration task reads characters")
    base = name.removesuffix("_restore")
    splits, _ = text_splits(base, options)
    vocab = char_vocabulary(splits["train"])
    max_len = options["block_size"]
    train = pack(lines_of(base, splits["train"]), vocab.encode, vocab.size, max_len)
    test = pack(lines_of(base, splits["validation"]), vocab.encode, vocab.size, max_len)
    targets = [vocab.decode(row[max_len + 1:]) for row in test]
    digest = hashlib.sha256("\n".join(targets).encode()).hexdigest()[:16]
    return {"x": train}, {"x": test}, TextData(vocab, max_len, digest, sum(map(len, targets)), max_len + 1)
