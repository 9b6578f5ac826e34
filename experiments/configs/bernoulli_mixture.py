"""Mixture-of-Bernoullis configs (one-call family `bernoulli_mixture`: MAP-EM,
jaxgen/classical/bernoulli_mixture.py), the classic baseline for binarised images.

Variants (`bernoulli_mixture.py:NAME`):
  mnist    MNIST binarised (training split once with the run's seed; the test split is the
           protocol's fixed binarisation), 500 components.
  digits   8x8 digits binarised, 50 components.
  smoke    a tiny fit, for tests.

Run:
  python -m experiments.launch --config experiments/configs/bernoulli_mixture.py:mnist --workdir runs/bmm_mnist
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_fit_base_config()
    c.family = "bernoulli_mixture"
    c.model = ml_collections.ConfigDict({
        "num_components": 500,
        "n_init": 1,  # restarts (k-means++ seeds), vmapped; the best final objective wins
        "max_iter": 100,
        "tol": 1e-4,  # stop when the per-image objective gains less (nats)
        "smoothing": 1.0,  # Beta(1 + s, 1 + s) prior on each pixel probability: never exactly 0 or 1
    })
    c.data.binarize = True
    c.eval.num_samples = 100
    if arg == "mnist":
        c.data.name = "mnist"
    elif arg == "digits":
        c.data.name = "digits"
        c.model.num_components = 50
        c.model.n_init = 4
    elif arg == "smoke":
        c.data.name = "digits"
        c.model.num_components = 5
        c.model.max_iter = 10
        c.eval.num_samples = 16
        c.train.progress = False
    else:
        raise ValueError(f"unknown bernoulli_mixture config variant {arg!r}; expected mnist, digits, smoke")
    return lock(c)


VARIANTS = ("mnist", "digits", "smoke")
