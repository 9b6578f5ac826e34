"""Learning rate x latent size on digits (6 runs):

  python -m experiments.sweep --config experiments/configs/vae.py:digits --workdir runs/sweep_vae \
      --sweep experiments/sweeps/vae_digits.py
"""

import itertools


def get_sweep() -> list[dict]:
    return [
        {"optim.lr": lr, "model.latent_dim": d}
        for lr, d in itertools.product((3e-4, 1e-3, 3e-3), (4, 8))
    ]
