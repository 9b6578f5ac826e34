"""Masked language model (family `masked_lm`): BERT's objective on Tiny Shakespeare windows, scored
by its pseudo-log-likelihood per character (not a likelihood: reported apart from the table).

Variants (`masked_lm.py:NAME`):
  shakespeare_char  characters, windows of 129, 4 bidirectional blocks of width 192.
  smoke             a few steps of a tiny encoder on the Markov text, for tests.

Run:
  python -m experiments.launch --config experiments/configs/masked_lm.py:shakespeare_char \\
      --workdir runs/masked_lm_shakespeare
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, text, text_smoke
from experiments.configs.transformer_lm import text_run


def encoder(**overrides) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict({"width": 192, "depth": 4, "heads": 4, "mlp_ratio": 4, "positions": "learned",
                                   "dropout": 0.1, "mask_rate": 0.15,
                                   "pll_chunk": 16})  # positions masked per pass of the pseudo-log-likelihood
    m.update(overrides)
    return m


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "shakespeare_char"
    c = get_base_config()
    c.family = "masked_lm"
    if arg == "shakespeare_char":
        text(c, "tiny_shakespeare", 128)
        text_run(c, 5_000, 32, 1e-3)
        c.eval.num_examples = 100  # the pseudo-log-likelihood costs 128 passes per window
        c.model = encoder()
    elif arg == "smoke":
        text_smoke(c, "markov_text", 16)
        c.model = encoder(width=16, depth=1, heads=2, dropout=0.0)
    else:
        raise ValueError(f"unknown masked_lm config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("shakespeare_char", "smoke")
