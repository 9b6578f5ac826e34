"""Deep belief network configs (stepped family `dbn`: greedy layer-wise CD, one phase per layer,
resumable anywhere; jaxgen/families/dbn.py).

Variants (`dbn.py:NAME`):
  mnist    784-500-500 on dynamically binarised MNIST, CD-5, 10 epochs (6,000 updates) per layer;
           the test variational lower bound with the top RBM's log Z by AIS (14,500 betas, 100 chains).
  digits   8x8 digits, 64-64-32, 30 epochs per layer.
  smoke    a tiny stack, for tests.

Run:
  python -m experiments.launch --config experiments/configs/dbn.py:mnist --workdir runs/dbn_mnist
"""

import ml_collections

from experiments.configs.base import get_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_base_config()
    c.family = "dbn"
    del c.train["num_steps"]  # the phases set the run's length: len(hidden) x steps_per_layer
    c.model = ml_collections.ConfigDict({
        "hidden": (500, 500),  # layer widths, bottom to top (the bound needs two)
        "steps_per_layer": 6_000,  # CD updates of each layer's RBM
        "cd_k": 5,
        "persistent": False,  # PCD instead of CD
        "num_chains": 100,  # persistent chains per layer (PCD)
        "weight_decay": 2e-4,  # L2 on W
        "ais_betas": 14_500,
        "ais_betas_periodic": 0,  # periodic evaluations (0: none)
        "ais_chains": 100,
        "ais_schedule": "salakhutdinov_murray",
        "bound_samples": 10,  # h1 ~ q(h1 | v) draws per test image
        "gibbs_steps": 1_000,  # top-level Gibbs sweeps per sample grid
    })
    c.optim.name, c.optim.lr, c.optim.b1 = "sgd", 0.05, 0.9  # SGD with momentum 0.9, each layer's own
    c.data.binarize = True
    c.data.batch_size = 100
    c.train.log_every = 200
    c.eval.every_steps = 0
    c.eval.use_ema = False
    c.eval.num_samples = 100
    c.checkpoint.every_steps = 2_000
    if arg == "mnist":
        c.data.name = "mnist"
    elif arg == "digits":
        c.data.name = "digits"
        c.data.batch_size = 50
        c.data.eval_batch_size = 297
        c.model.hidden = (64, 32)
        c.model.steps_per_layer = 900  # 30 epochs of 1,500 images
        c.model.ais_betas = 5_000
        c.train.log_every = 100
        c.checkpoint.every_steps = 300
    elif arg == "smoke":
        c.data.name = "digits"
        c.data.batch_size = 50
        c.data.eval_batch_size = 100
        c.model.hidden = (12, 6)
        c.model.steps_per_layer = 3
        c.model.cd_k = 1
        c.model.ais_betas = 50
        c.model.ais_chains = 8
        c.model.bound_samples = 2
        c.model.gibbs_steps = 5
        c.train.log_every = 2
        c.train.progress = False
        c.eval.num_examples = 100
        c.eval.num_samples = 16
        c.checkpoint.every_steps = 2
    else:
        raise ValueError(f"unknown dbn config variant {arg!r}; expected mnist, digits, smoke")
    return lock(c)


VARIANTS = ("mnist", "digits", "smoke")
