"""Denoising autoencoder configs (Vincent et al. 2008): the autoencoder of ae.py trained to
reconstruct the clean image from a corrupted copy.

Variants (`dae.py:NAME`):
  mnist_gaussian         additive Gaussian noise, sigma = 0.5, binarised MNIST.
  mnist_masking          each pixel zeroed with probability 0.3.
  mnist_salt_and_pepper  each pixel set to 0 or 1 with probability 0.2.
  mnist_conv_masking     the masking DAE with the convolutional networks.
  digits_masking         the masking DAE on the binarised 8x8 digits (the digits leaderboard).
  smoke                  a few steps on digits (salt and pepper), for tests.

Run:
  python -m experiments.launch --config experiments/configs/dae.py:mnist_masking --workdir runs/dae
"""

import ml_collections

from experiments.configs.ae import base
from experiments.configs.base import lock

CORRUPTIONS = {  # variant -> (corruption, level)
    "mnist_gaussian": ("gaussian", 0.5),
    "mnist_masking": ("masking", 0.3),
    "mnist_salt_and_pepper": ("salt_and_pepper", 0.2),
    "mnist_conv_masking": ("masking", 0.3),
    "digits_masking": ("masking", 0.3),
    "smoke": ("salt_and_pepper", 0.2),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist_masking"
    if arg not in CORRUPTIONS:
        raise ValueError(f"unknown dae config variant {arg!r}; expected {VARIANTS}")
    kind, level = CORRUPTIONS[arg]
    return lock(base(arg, "dae", VARIANTS, corruption=kind, corruption_level=level))


VARIANTS = tuple(CORRUPTIONS)
