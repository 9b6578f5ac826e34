"""Glow configs (Kingma & Dhariwal 2018; family `flow`): per level a squeeze, then steps of
ActNorm (data-dependent init), an invertible 1x1 convolution (LU-decomposed) and an affine
coupling, half the channels factored out between levels.

Variants (`glow.py:NAME`):
  mnist   8-bit MNIST, uniform dequantisation (the 45-minute CPU target: <= 1.8 bits/dim).
  digits  the 8x8 digits' 17 grey levels (the digits leaderboard).
  smoke   a few steps of a tiny model, for tests.

Run:
  python -m experiments.launch --config experiments/configs/glow.py:mnist --workdir runs/glow
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock
from experiments.configs.realnvp import eight_bit_mnist, image_model, smoke


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "flow"
    if arg == "mnist":
        eight_bit_mnist(c, 2_700)  # ~45 min of the 2-core dev CPU (1.0 s per step in the loop)
        c.model = image_model("glow", levels=2, steps=8)
    elif arg == "digits":
        digits(c, 3_000, binarize=False)
        c.model = image_model("glow", levels=2, steps=4, features=32, blocks=1, final_dequantization_samples=64)
    elif arg == "smoke":
        smoke(c, image=True)
        c.model = image_model("glow", levels=1, steps=1, features=8, blocks=1, final_dequantization_samples=3)
    else:
        raise ValueError(f"unknown glow config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "digits", "smoke")
