"""Sequence models of bouncing-ball videos (family `dynamical_vae`): VRNN (Chung et al. 2015) and
the deterministic-transition RNN baseline it is compared with (Kalman VAE: kvae.py).

Variants (`vrnn.py:NAME`):
  bouncing_balls  VRNN, GRU of 128 units, 8-d latent per frame; IWAE (k = 100) on the test videos.
  rnn             the baseline: h_t = GRU(h_{t-1}, x_{t-1}), factorised Bernoulli frames (exact).
  smoke / smoke_rnn  a few steps of tiny models, for tests.

Run:
  python -m experiments.launch --config experiments/configs/vrnn.py:bouncing_balls --workdir runs/vrnn_balls
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, shrink_for_smoke


def videos(c: ml_collections.ConfigDict, steps: int) -> None:
    """bouncing_balls: 4,000 training and 500 test videos of 16 binary 16x16 frames, batches of 32,
    Adam with a cosine schedule from 2e-3, evaluation on all 500 test videos every 1,000 steps."""
    c.data.name = "bouncing_balls"
    c.data.toy_train_size, c.data.toy_test_size = 4_000, 500
    c.data.batch_size = 32
    c.data.eval_batch_size = 100
    c.train.num_steps = steps
    c.train.log_every = 100
    c.optim.lr = 2e-3
    c.optim.schedule = "cosine"
    c.optim.grad_clip_norm = 10.0
    c.eval.every_steps = 1_000
    c.eval.num_examples = 0
    c.eval.num_samples = 8
    c.checkpoint.every_steps = 1_000


def video_smoke(c: ml_collections.ConfigDict) -> None:
    """The video smoke runs: 4 steps on 64 training and 16 test videos."""
    shrink_for_smoke(c, "bouncing_balls", 8)
    c.data.toy_train_size, c.data.toy_test_size = 64, 16
    c.eval.num_examples = 16
    c.eval.num_samples = 2


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "bouncing_balls"
    c = get_base_config()
    c.family = "dynamical_vae"
    if arg in ("bouncing_balls", "rnn"):
        videos(c, 4_000)
    elif arg in ("smoke", "smoke_rnn"):
        video_smoke(c)
    else:
        raise ValueError(f"unknown vrnn config variant {arg!r}; expected {VARIANTS}")
    small = arg.startswith("smoke")
    if arg in ("rnn", "smoke_rnn"):
        c.model = ml_collections.ConfigDict({"arch": "rnn", "hidden": 16 if small else 128})
    else:
        c.model = ml_collections.ConfigDict({"arch": "vrnn", "hidden": 16 if small else 128, "latent": 2 if small else 8,
                                             "feat": 8 if small else 64, "iwae_samples": 2 if small else 10,
                                             "iwae_samples_final": 3 if small else 100})
    return lock(c)


VARIANTS = ("bouncing_balls", "rnn", "smoke", "smoke_rnn")
