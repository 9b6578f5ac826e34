"""The Kalman VAE (Fraccaro et al. 2017; family `dynamical_vae`, arch 'kvae') on bouncing-ball
videos: a VAE per frame (2-d codes) whose codes follow a linear-Gaussian state-space model (4-d
state, K = 3 transition / emission matrices mixed by an LSTM over past codes), log p(codes) by
the Kalman filter; missing frames imputed by the smoother (figures/imputation.png).

Variants (`kvae.py:NAME`): bouncing_balls, smoke.

Run:
  python -m experiments.launch --config experiments/configs/kvae.py:bouncing_balls --workdir runs/kvae_balls
"""

import ml_collections

from experiments.configs.base import get_base_config, lock
from experiments.configs.vrnn import video_smoke, videos


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "bouncing_balls"
    c = get_base_config()
    c.family = "dynamical_vae"
    small = arg == "smoke"
    if arg == "bouncing_balls":
        videos(c, 4_000)
    elif small:
        video_smoke(c)
    else:
        raise ValueError(f"unknown kvae config variant {arg!r}; expected {VARIANTS}")
    c.model = ml_collections.ConfigDict({
        "arch": "kvae", "code": 2, "state": 4, "mixtures": 3, "hidden": 16 if small else 128,
        "dynamics_hidden": 8 if small else 32, "transition_noise": 0.08, "emission_noise": 0.03,
        "iwae_samples": 2 if small else 10, "iwae_samples_final": 3 if small else 100})
    return lock(c)


VARIANTS = ("bouncing_balls", "smoke")
