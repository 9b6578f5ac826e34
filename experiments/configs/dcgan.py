"""DCGAN configs (Radford, Metz & Chintala 2016): batch norm, ReLU / LeakyReLU(0.2),
strided and x2-upsampling convolutions, Adam(2e-4, beta1 0.5), batch 64,
non-saturating loss. Builds on the GAN family (experiments/configs/gan.py).

Variants (`dcgan.py:NAME`):
  mnist          28x28 MNIST: z 100 -> 7x7x128 -> 14x14x64 -> 28x28x1; D 64-128 (the README run).
  fashion_mnist  the same on Fashion-MNIST.
  cifar10        32x32x3 from a prepared TFDS cifar10 ('tfds:cifar10'): 4x4x512 -> ... -> 32x32x3.
  digits         8x8 digits: 2x2x64 -> 4x4x32 -> 8x8x1, 2,000 updates (the digits leaderboard).
  smoke          8x8 digits, a few steps, for tests.

Run:
  python -m experiments.launch --config experiments/configs/dcgan.py:mnist --workdir runs/dcgan_mnist
"""

import ml_collections

from experiments.configs import gan
from experiments.configs.base import shrink_for_smoke


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = gan.gan_base()
    m = c.model
    m.loss = "nonsaturating"
    m.latent_dim = 100
    m.g_norm = m.d_norm = "batch"
    # G 128-64 rather than the paper's wider maps: a CPU budget (0.33 s/step vs 0.81 s at
    # 256-128, batch 64, BENCHMARKS.md); set model.g_channels=(256, 128) on an accelerator.
    m.g_channels, m.d_channels = (128, 64), (64, 128)
    c.data.batch_size = 64
    c.data.eval_batch_size = 500
    c.train.ema_decay = 0.999
    c.train.log_every = 100
    c.eval.num_examples = 2_000
    c.eval.num_samples = 100
    c.checkpoint.every_steps = 1_000
    if arg in ("mnist", "fashion_mnist"):
        c.data.name = arg
        c.train.num_steps = 3_000
        c.eval.every_steps = 1_000
    elif arg == "cifar10":
        c.data.name = "tfds:cifar10"
        m.g_channels, m.d_channels = (512, 256, 128), (64, 128, 256)
        c.train.num_steps = 50_000
        c.eval.every_steps = 5_000
    elif arg == "digits":
        c.data.name = "digits"
        c.data.eval_batch_size = 297
        m.g_channels, m.d_channels = (64, 32), (32, 64)  # 2x2 -> 4x4 -> 8x8
        c.train.num_steps = 2_000
        c.eval.every_steps = 1_000
        c.eval.num_examples = 0
        c.eval.num_samples = 64
    elif arg == "smoke":
        shrink_for_smoke(c, "digits", 16)
        m.latent_dim = 8
        m.g_channels, m.d_channels = (16, 8), (8, 16)
        c.train.ema_decay = 0.9
    else:
        raise ValueError(f"unknown dcgan config variant {arg!r}; expected {VARIANTS}")
    return gan.finish(c)


VARIANTS = ("mnist", "fashion_mnist", "cifar10", "digits", "smoke")
