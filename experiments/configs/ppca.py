"""Probabilistic PCA configs (fit family `ppca`, jaxgen/train/one_call.py).

Variants (`ppca.py:NAME`):
  mnist      q = 50, closed-form MLE (Tipping & Bishop 1999).
  mnist_em   the same by EM (100 iterations), to compare with the closed form.
  digits     q = 10 on the 8x8 digits.
  smoke      a tiny fit, for tests.

Run:
  python -m experiments.launch --config experiments/configs/ppca.py:mnist --workdir runs/ppca_mnist
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_fit_base_config()
    c.family = "ppca"
    c.model = ml_collections.ConfigDict({
        "latent_dim": 10,  # q
        "method": "closed_form",  # closed_form or em
        "em_iters": 100,
    })
    c.eval.num_samples = 100
    if arg in ("mnist", "mnist_em"):
        c.data.name = "mnist"
        c.model.latent_dim = 50
        c.model.method = "em" if arg == "mnist_em" else "closed_form"
    elif arg == "digits":
        c.data.name = "digits"
    elif arg == "smoke":
        c.data.name = "digits"
        c.model.latent_dim = 3
        c.model.method = "em"
        c.model.em_iters = 5
        c.eval.num_samples = 16
        c.train.progress = False
    else:
        raise ValueError(f"unknown ppca config variant {arg!r}; expected mnist, mnist_em, digits, smoke")
    return lock(c)


VARIANTS = ("mnist", "mnist_em", "digits", "smoke")
