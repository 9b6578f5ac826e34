"""Deep belief network configs (fit family `dbn`: greedy layer-wise RBMs, jaxgen/train/one_call.py).

Variants (`dbn.py:NAME`):
  mnist    784-500-500 on MNIST binarised once, CD-5, 10 epochs per layer; the test
           variational lower bound with the top RBM's log Z by AIS (14,500 betas, 100 chains).
  digits   8x8 digits, 64-64-32.
  smoke    a tiny stack, for tests.

Run:
  python -m experiments.launch --config experiments/configs/dbn.py:mnist --workdir runs/dbn_mnist
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_fit_base_config()
    c.family = "dbn"
    c.model = ml_collections.ConfigDict({
        "hidden": (500, 500),  # layer widths, bottom to top (the bound needs two)
        "epochs": 10,  # per layer
        "cd_k": 5,
        "persistent": False,  # PCD instead of CD
        "lr": 0.05,
        "momentum": 0.9,
        "weight_decay": 2e-4,
        "ais_betas": 14_500,
        "ais_chains": 100,
        "ais_schedule": "salakhutdinov_murray",
        "bound_samples": 10,  # h1 ~ q(h1 | v) draws per test image
        "gibbs_steps": 1_000,  # top-level Gibbs sweeps per sample grid
    })
    c.data.binarize = True
    c.data.batch_size = 100  # of the minibatch CD / PCD updates (this family alone reads it)
    c.eval.num_samples = 100
    if arg == "mnist":
        c.data.name = "mnist"
    elif arg == "digits":
        c.data.name = "digits"
        c.data.batch_size = 50
        c.model.hidden = (64, 32)
        c.model.epochs = 30
        c.model.ais_betas = 5_000
    elif arg == "smoke":
        c.data.name = "digits"
        c.data.batch_size = 50
        c.model.hidden = (12, 6)
        c.model.epochs = 2
        c.model.cd_k = 1
        c.model.ais_betas = 50
        c.model.ais_chains = 8
        c.model.bound_samples = 2
        c.model.gibbs_steps = 5
        c.eval.num_samples = 16
        c.train.progress = False
    else:
        raise ValueError(f"unknown dbn config variant {arg!r}; expected mnist, digits, smoke")
    return lock(c)


VARIANTS = ("mnist", "digits", "smoke")
