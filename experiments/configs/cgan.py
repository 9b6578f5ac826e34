"""Conditional GAN configs: DCGAN networks conditioned on the class label.

Variants (`cgan.py:NAME`):
  mnist          projection discriminator (Miyato & Koyama 2018), label one-hot appended to z.
  mnist_concat   label concatenation in both networks (Mirza & Osindero 2014): one-hot maps as
                 extra input channels of D.
  fashion_mnist  projection, on Fashion-MNIST.
  digits         projection, on the 8x8 digits (the digits leaderboard).
  smoke          8x8 digits, a few steps, for tests.
Sample grids cycle the labels 0..9 along each row.

Run:
  python -m experiments.launch --config experiments/configs/cgan.py:mnist --workdir runs/cgan_mnist
"""

import ml_collections

from experiments.configs import dcgan
from experiments.configs.base import lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    base = {"mnist": "mnist", "mnist_concat": "mnist", "fashion_mnist": "fashion_mnist", "digits": "digits",
            "smoke": "smoke"}
    if arg not in base:
        raise ValueError(f"unknown cgan config variant {arg!r}; expected one of {tuple(base)}")
    c = dcgan.get_config(base[arg])
    c.unlock()
    c.model.conditioning = "concat" if arg == "mnist_concat" else "projection"
    return lock(c)


VARIANTS = ("mnist", "mnist_concat", "fashion_mnist", "digits", "smoke")
