"""pix2pix configs (Isola et al. 2017): U-Net generator, PatchGAN discriminator,
non-saturating loss + 100 x L1, Adam(2e-4, beta1 0.5).

Variants (`pix2pix.py:NAME`):
  mnist        inpainting: a random 12x12 square of each MNIST digit is greyed out.
  mnist_edges  Sobel edge map -> digit.
  smoke        8x8 digits, a few steps, for tests.
After training, workdir/figures/translations.png shows (input | output | target).

Run:
  python -m experiments.launch --config experiments/configs/pix2pix.py:mnist --workdir runs/pix2pix_mnist
"""

import ml_collections

from experiments.configs.base import add_d_optim, get_base_config, lock, shrink_for_smoke


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "pix2pix"
    c.model = ml_collections.ConfigDict({
        "task": "inpaint",  # inpaint or edges
        "hole": 12,
        "l1_weight": 100.0,
        "g_channels": (64, 128),
        "d_channels": (64, 128),
    })
    c.optim.lr, c.optim.b1 = 2e-4, 0.5
    add_d_optim(c)
    c.data.name = "mnist"
    c.data.batch_size = 64
    c.train.num_steps = 3_000
    c.train.log_every = 100
    c.eval.every_steps = 1_000
    c.eval.num_examples = 2_000
    c.checkpoint.every_steps = 1_000
    if arg == "mnist":
        pass
    elif arg == "mnist_edges":
        c.model.task = "edges"
    elif arg == "smoke":
        shrink_for_smoke(c, "digits", 16)
        c.model.hole = 4
        c.model.g_channels = c.model.d_channels = (8, 16)
    else:
        raise ValueError(f"unknown pix2pix config variant {arg!r}; expected mnist, mnist_edges, smoke")
    return lock(c)


VARIANTS = ("mnist", "mnist_edges", "smoke")
