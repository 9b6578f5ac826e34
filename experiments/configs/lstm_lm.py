"""Recurrent language models (family `language_model`, arch 'lstm' or 'gru'): the char-rnn
baseline beside the transformer, on the same windows and protocol.

Variants (`lstm_lm.py:NAME`):
  shakespeare_char  Tiny Shakespeare characters, context 128, 2 LSTM layers of 384 units.
  gru_shakespeare   the same with GRU cells.
  smoke             a few steps of a tiny LSTM on the Markov text, for tests.

Run:
  python -m experiments.launch --config experiments/configs/lstm_lm.py:shakespeare_char \\
      --workdir runs/lstm_shakespeare
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, text, text_smoke
from experiments.configs.transformer_lm import language_model, text_run


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "shakespeare_char"
    c = get_base_config()
    c.family = "language_model"
    if arg in ("shakespeare_char", "gru_shakespeare"):
        text(c, "tiny_shakespeare", 128)
        text_run(c, 5_000, 32, 2e-3)  # ~45 min of the 2-core dev CPU (LSTM: 1.85 steps/s alone)
        c.model = language_model("gru" if arg == "gru_shakespeare" else "lstm", hidden=384, layers=2)
    elif arg == "smoke":
        text_smoke(c, "markov_text", 16)
        c.eval.num_samples = 2
        c.model = language_model("lstm", hidden=16, layers=1, dropout=0.0, sample_length=16, prompt_length=4,
                                 num_prompts=2)
    else:
        raise ValueError(f"unknown lstm_lm config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("shakespeare_char", "gru_shakespeare", "smoke")
