"""Restricted Boltzmann machine configs (family `rbm`: CD-k in the one loop, AIS test log-likelihood).

Variants (`rbm.py:NAME`):
  mnist     500 hidden units, CD-1, dynamically binarised MNIST, SGD with momentum 0.9,
            AIS with 14,500 inverse temperatures and 100 chains at the end
            (the setting of Salakhutdinov & Murray 2008).
  mnist_cd25  the same with CD-25.
  mnist_pcd   the same with PCD-1 (100 persistent chains; Tieleman 2008).
  digits    64 hidden units on binarised 8x8 digits (no download); digits_pcd: with PCD.
  smoke     a few steps of a tiny RBM, for tests (smoke_pcd: the same with PCD).

Run:
  python -m experiments.launch --config experiments/configs/rbm.py:mnist --workdir runs/rbm_mnist
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, shrink_for_smoke


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_base_config()
    c.family = "rbm"
    c.model = ml_collections.ConfigDict({
        "visible": "bernoulli",  # bernoulli or gaussian (unit variance: standardise the data)
        "num_hidden": 500,
        "cd_k": 1,  # Gibbs sweeps of the negative phase (per update)
        "persistent": False,  # PCD: continue persistent chains instead of restarting at the data
        "num_chains": 100,  # persistent chains (PCD only)
        "weight_decay": 2e-4,  # L2 on W
        "init_scale": 0.01,
        "ais_betas": 14_500,  # final evaluation
        "ais_betas_periodic": 1_000,  # periodic evaluations (0: free energy only)
        "ais_chains": 100,
        "ais_schedule": "salakhutdinov_murray",
        "sample_steps": 1_000,  # Gibbs sweeps per sample grid
    })
    c.data.binarize = True
    c.optim.name = "sgd"
    c.optim.lr = 0.05
    c.optim.b1 = 0.9  # momentum
    c.train.ema_decay = 0.0
    c.eval.use_ema = False
    if arg in ("mnist", "mnist_cd25", "mnist_pcd"):
        c.data.name = "mnist"
        c.data.batch_size = 100
        c.data.eval_batch_size = 500
        c.model.cd_k = 25 if arg == "mnist_cd25" else 1
        c.model.persistent = arg == "mnist_pcd"
        c.train.num_steps = 30_000  # 50 epochs
        c.train.log_every = 500
        c.optim.schedule = "linear"
        c.eval.every_steps = 10_000
        c.eval.num_examples = 0  # all 10,000 test images
        c.eval.num_samples = 100
        c.checkpoint.every_steps = 5_000
    elif arg in ("digits", "digits_pcd"):
        c.data.name = "digits"
        c.model.persistent = arg == "digits_pcd"
        c.data.batch_size = 50
        c.data.eval_batch_size = 297
        c.model.num_hidden = 64
        c.train.num_steps = 3_000
        c.train.log_every = 250
        c.eval.every_steps = 1_000
        c.model.ais_betas = 5_000
        c.eval.num_samples = 64
        c.checkpoint.every_steps = 1_000
    elif arg in ("smoke", "smoke_pcd"):
        shrink_for_smoke(c, "digits", 32)
        c.model.persistent = arg == "smoke_pcd"
        c.model.num_chains = 16
        c.model.num_hidden = 8
        c.model.cd_k = 2
        c.model.ais_betas = 50
        c.model.ais_betas_periodic = 0
        c.model.ais_chains = 8
        c.model.sample_steps = 5
    else:
        raise ValueError(f"unknown rbm config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "mnist_cd25", "mnist_pcd", "digits", "digits_pcd", "smoke", "smoke_pcd")
