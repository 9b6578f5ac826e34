"""Autoregressive image model configs: PixelCNN (masked convolutions) and Gated PixelCNN.

Variants (`pixelcnn.py:NAME`):
  mnist_gated       Gated PixelCNN on dynamically binarised MNIST, Bernoulli output (the
                    45-minute CPU benchmark run; test set: the protocol's fixed binarisation).
  mnist_gated_cond  the same, class-conditional (a learned bias per class in every layer).
  mnist             PixelCNN (7x7 mask A, residual 3x3 mask B layers) on binarised MNIST.
  mnist_8bit        Gated PixelCNN on 8-bit MNIST with the PixelCNN++ output: a mixture of 5
                    discretised logistics over the 256 levels (bits/dim).
  mnist_8bit_categorical  the same with a 256-way softmax per pixel.
  digits_binary / digits_gated  PixelCNN / Gated PixelCNN on the binarised 8x8 digits (the digits
                    leaderboard).
  digits            Gated PixelCNN with the PixelCNN++ output on the digits' 17 grey levels.
  smoke / smoke_gated / smoke_8bit  a few steps of tiny models on digits, for tests.

Run:
  python -m experiments.launch --config experiments/configs/pixelcnn.py:mnist_gated --workdir runs/gated_pixelcnn
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, mnist, shrink_for_smoke


def model_section(**overrides) -> ml_collections.ConfigDict:
    """The autoregressive family's model keys (shared with pixelrnn.py)."""
    m = ml_collections.ConfigDict(
        {
            "network": "pixelcnn",  # 'pixelcnn' (masked convolutions), 'gated' (vertical + horizontal stacks), 'row_lstm'
            # (pixelrnn.py)
            "features": 64,
            "layers": 7,  # layers after the first
            "first_kernel": 7,
            "kernel": 3,
            "head_features": 64,
            "likelihood": "bernoulli",  # 'bernoulli' (binarised), 'categorical', 'logistic_mixture' (PixelCNN++)
            "mixture_components": 5,  # logistic_mixture only
            "conditional": False,  # class-conditional (needs labelled data)
            "sampler": "fast",  # 'fast' (per-layer caches) or 'naive' (the whole image per value)
        }
    )
    m.update(overrides)
    return m


def _model(c, **overrides) -> None:
    c.model = model_section(**overrides)


def binarised_mnist(c, steps: int) -> None:
    mnist(c, steps, binarize=True)
    c.eval.every_steps = 1_600
    c.eval.num_examples = 0  # the exact test likelihood on all 10,000 test images


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist_gated"
    c = get_base_config()
    c.family = "autoregressive"
    _model(c)
    if arg in ("mnist_gated", "mnist_gated_cond"):
        binarised_mnist(c, 4_800)  # ~45 min on the 2-core dev CPU (0.54 s per step)
        _model(c, network="gated", features=32, layers=6, conditional=arg == "mnist_gated_cond")
    elif arg == "mnist":
        binarised_mnist(c, 3_000)
        _model(c, features=32, layers=5)
    elif arg in ("mnist_8bit", "mnist_8bit_categorical"):
        binarised_mnist(c, 3_000)
        c.data.binarize = False
        _model(c, network="gated", features=32, layers=6,
               likelihood="logistic_mixture" if arg == "mnist_8bit" else "categorical")
    elif arg in ("digits_binary", "digits_gated"):
        digits(c, 2_000, binarize=True)
        _model(c, network="gated" if arg == "digits_gated" else "pixelcnn", features=32, layers=3, first_kernel=5)
    elif arg == "digits":
        digits(c, 2_000, binarize=False)
        _model(c, network="gated", features=32, layers=3, first_kernel=5, likelihood="logistic_mixture")
    elif arg in ("smoke", "smoke_gated", "smoke_8bit"):
        shrink_for_smoke(c, "digits", 32)
        c.data.binarize = arg != "smoke_8bit"
        _model(c, network="pixelcnn" if arg == "smoke" else "gated", features=8, layers=2, first_kernel=3,
               head_features=8, conditional=arg == "smoke_gated",
               likelihood="logistic_mixture" if arg == "smoke_8bit" else "bernoulli", mixture_components=2)
        c.eval.num_samples = 4
    else:
        raise ValueError(f"unknown pixelcnn config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist_gated", "mnist_gated_cond", "mnist", "mnist_8bit", "mnist_8bit_categorical", "digits_binary",
            "digits_gated", "digits", "smoke", "smoke_gated", "smoke_8bit")
