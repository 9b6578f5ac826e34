"""Encoder-decoder transformer (family `seq2seq`) on a task built from Tiny Shakespeare: restore
case and punctuation. Source: a line lower-cased with only letters, digits and spaces kept;
target: the line as written. Metrics: nats per target character of log p(target | source) and
the character error rate of greedy decoding (jaxgen/data/seq2seq.py).

Variants (`seq2seq.py:NAME`):
  shakespeare_restore  lines of up to 64 characters, 3 + 3 blocks of width 128.
  smoke                a few steps on the Markov text's pieces (the source drops '.'), for tests.

Run:
  python -m experiments.launch --config experiments/configs/seq2seq.py:shakespeare_restore \\
      --workdir runs/seq2seq_restore
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, text, text_smoke
from experiments.configs.transformer_lm import text_run


def encoder_decoder(**overrides) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict({"width": 128, "depth": 3, "heads": 4, "mlp_ratio": 4, "positions": "learned",
                                   "dropout": 0.1,
                                   "beam": 4, "num_examples_shown": 8})  # figures/restoration.md
    m.update(overrides)
    return m


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "shakespeare_restore"
    c = get_base_config()
    c.family = "seq2seq"
    if arg == "shakespeare_restore":
        text(c, "tiny_shakespeare_restore", 64)
        text_run(c, 4_000, 64, 1e-3)
        c.eval.num_examples = 500
        c.model = encoder_decoder()
    elif arg == "smoke":
        text_smoke(c, "markov_restore", 32, train_chars=3_000)
        c.model = encoder_decoder(width=16, depth=1, heads=2, dropout=0.0, beam=2, num_examples_shown=2)
    else:
        raise ValueError(f"unknown seq2seq config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("shakespeare_restore", "smoke")
