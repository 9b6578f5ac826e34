"""Adversarial autoencoder configs (Makhzani et al. 2016): MLP 784-1000-1000-code on
MNIST grey levels (Bernoulli cross-entropy), a code discriminator 1000-1000.

Variants (`aae.py:NAME`):
  mnist          8-D Gaussian prior.
  mnist_mixture  2-D codes, 10-component mixture prior on a circle.
  mnist_label    2-D codes, mixture prior with component = label (label-conditioned prior).
  digits         8x8 digits, Gaussian prior, 256-unit networks (the digits leaderboard).
  smoke          8x8 digits, a few steps, for tests.
After training, workdir/figures/ holds the codes scatter, an interpolation grid
and class-mean latent arithmetic (1 -> 7).

Run:
  python -m experiments.launch --config experiments/configs/aae.py:mnist_label --workdir runs/aae_label
"""

import ml_collections

from experiments.configs.base import add_d_optim, digits, get_base_config, lock, shrink_for_smoke


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "aae"
    c.model = ml_collections.ConfigDict({
        "code_dim": 8,
        "hidden": (1000, 1000),
        "d_hidden": (1000, 1000),
        "prior": "gaussian",  # gaussian or mixture
        "num_components": 10,
        "mixture_radius": 4.0,
        "mixture_std": 0.5,
        "label_prior": False,
        "loss": "nonsaturating",
        "adversarial_weight": 1.0,
    })
    c.optim.lr, c.optim.b1 = 2e-4, 0.5
    add_d_optim(c)
    c.data.name = "mnist"
    c.data.batch_size = 100
    c.train.num_steps = 10_000
    c.train.log_every = 200
    c.eval.every_steps = 2_000
    c.eval.num_examples = 2_000
    c.eval.num_samples = 100
    c.checkpoint.every_steps = 2_000
    if arg == "mnist":
        pass
    elif arg in ("mnist_mixture", "mnist_label"):
        c.model.code_dim = 2
        c.model.prior = "mixture"
        c.model.label_prior = arg == "mnist_label"
    elif arg == "digits":
        digits(c, 3_000, binarize=False, batch_size=50)
        c.model.hidden = c.model.d_hidden = (256, 256)
        c.eval.num_examples = 0
        c.eval.num_samples = 64
    elif arg == "smoke":
        shrink_for_smoke(c, "digits", 32)
        c.model.code_dim = 2
        c.model.prior = "mixture"
        c.model.label_prior = True
        c.model.hidden = c.model.d_hidden = (16,)
    else:
        raise ValueError(f"unknown aae config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "mnist_mixture", "mnist_label", "digits", "smoke")
