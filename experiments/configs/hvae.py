"""Hierarchical VAE configs (Ladder VAE: top-down inference, Sønderby et al. 2016).

Variants (`hvae.py:NAME`):
  mnist          two stochastic layers (64 and 32 dims, MLPs 512-512 and 256-256) on dynamically
                 binarised MNIST, Bernoulli decoder on z_0 (no skip connections), KL warm-up over
                 10,000 steps, the ELBO objective; the test bound is IWAE with k = 1000
                 (-84.49 nats after 75,000 steps, 16 minutes of 2-core CPU).
  mnist_iwae     the same trained on the IWAE bound with k = 5 (no warm-up: worse, -90.17).
  digits_binary  the binarised 8x8 digits (the digits leaderboard).
  smoke          a few steps of a tiny model on digits, for tests.

Run:
  python -m experiments.launch --config experiments/configs/hvae.py:mnist --workdir runs/hvae
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, shrink_for_smoke


def _model(c, **overrides) -> None:
    c.model = ml_collections.ConfigDict(
        {
            "latent_dims": (64, 32),  # per stochastic layer, nearest the data first
            "hidden": ((512, 512), (256, 256)),  # MLP widths into each layer (and out of it, reversed)
            "activation": "relu",
            "skip": True,  # the decoder reads every layer's z (skip connections), not only the lowest
            "likelihood": "bernoulli",
            "kl_warmup_steps": 0,  # KL weight rises linearly from 0 to 1 over these steps (0: none)
            "free_bits": 0.0,  # nats: each latent dimension's batch-mean KL counts as at least this
            "iwae_samples": 1,  # 1: the ELBO objective; k > 1: the IWAE bound L_k as the objective
        }
    )
    c.model.update(overrides)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "hvae"
    _model(c)
    c.eval.iwae_samples = 10
    c.eval.final_iwae_samples = 1000
    c.eval.iwae_chunk = 100
    if arg in ("mnist", "mnist_iwae"):
        c.data.name = "mnist"
        c.data.binarize = True
        c.data.batch_size = 128
        c.data.eval_batch_size = 500
        # skip=False: with skip connections the decoder read z_1 directly and z_0 collapsed (its KL
        # 0.0004 nats after 3,000 IWAE steps); without them every bit reaches x through z_0
        _model(c, skip=False, kl_warmup_steps=10_000, iwae_samples=5 if arg == "mnist_iwae" else 1)
        # on the 2-core dev CPU: 75,000 ELBO steps in 16.4 min (IWAE-1000 -84.49 nats, BENCHMARKS.md);
        # 65,000 IWAE (k = 5) steps in 34.5 min
        c.train.num_steps = 65_000 if arg == "mnist_iwae" else 75_000
        c.train.log_every = 500
        c.optim.lr = 1e-3
        c.optim.schedule = "cosine"
        c.eval.every_steps = 25_000
        c.eval.num_examples = 0
        c.checkpoint.every_steps = 10_000
    elif arg == "digits_binary":
        digits(c, 3_000, binarize=True)
        _model(c, latent_dims=(8, 4), hidden=((256,), (128,)), kl_warmup_steps=500)
    elif arg == "smoke":
        shrink_for_smoke(c, "digits", 32)
        c.data.binarize = True
        _model(c, latent_dims=(4, 2), hidden=((16,), (8,)), kl_warmup_steps=2, free_bits=0.05)
        c.eval.iwae_samples = 4
        c.eval.final_iwae_samples = 8
        c.eval.iwae_chunk = 4
    else:
        raise ValueError(f"unknown hvae config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "mnist_iwae", "digits_binary", "smoke")
