"""PixelRNN configs: Row LSTM or Diagonal BiLSTM layers (van den Oord et al. 2016) after a 7x7
mask-A convolution,
trained by maximum likelihood with an exact test log-likelihood (family `autoregressive`, as
pixelcnn.py).

Variants (`pixelrnn.py:NAME`):
  mnist           two Row LSTM layers of 32 units on dynamically binarised MNIST, Bernoulli output.
  mnist_diagonal  two Diagonal BiLSTM layers of 32 units (no blind spot), the same data.
  digits_binary / digits_diagonal  the two on the binarised 8x8 digits (the digits leaderboard).
  smoke / smoke_diagonal  a few steps of tiny models on the binarised digits, for tests.

Run:
  python -m experiments.launch --config experiments/configs/pixelrnn.py:mnist --workdir runs/pixelrnn
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, shrink_for_smoke
from experiments.configs.pixelcnn import binarised_mnist, model_section


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "autoregressive"
    c.model = model_section(network="diagonal_bilstm" if "diagonal" in arg else "row_lstm", features=32, layers=2)
    if arg in ("mnist", "mnist_diagonal"):
        binarised_mnist(c, 3_000)
    elif arg in ("digits_binary", "digits_diagonal"):
        digits(c, 2_000, binarize=True)
        c.model.update(first_kernel=5)
    elif arg in ("smoke", "smoke_diagonal"):
        shrink_for_smoke(c, "digits", 32)
        c.data.binarize = True
        c.model.update(features=8, layers=1, first_kernel=3, head_features=8)
        c.eval.num_samples = 4
    else:
        raise ValueError(f"unknown pixelrnn config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "mnist_diagonal", "digits_binary", "digits_diagonal", "smoke", "smoke_diagonal")
