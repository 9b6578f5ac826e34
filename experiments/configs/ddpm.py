"""Diffusion configs (family `diffusion`): DDPM (Ho et al. 2020) with a U-Net on 8-bit images or
an MLP on 2-D data; DDIM / Heun sampling and classifier-free guidance by config.

Variants (`ddpm.py:NAME`):
  mnist / fashion_mnist  8-bit images, cosine schedule, T = 1000, eps-prediction, EMA; sampled with
                         DDIM (50 steps); the bound on log P(levels) in bits/dim.
  mnist_cond             class-conditional (labels dropped 10% of the time), guidance weight 1.
  digits                 the 8x8 digits' 17 grey levels (the digits leaderboard).
  ring8 / grid25         2-D mixtures, MLP denoiser, T = 200, sampled by the full DDPM chain (mode
                         coverage after training, the GAN table's protocol).
  smoke / smoke_cond / smoke_2d  a few steps of tiny models, for tests.

Run:
  python -m experiments.launch --config experiments/configs/ddpm.py:mnist --workdir runs/ddpm_mnist
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, mnist, shrink_for_smoke
from experiments.configs.realnvp import toy


def process(**overrides) -> ml_collections.ConfigDict:
    """The keys every denoiser shares: schedule, objective, conditioning, sampler, bound."""
    m = ml_collections.ConfigDict({
        "schedule": "cosine",  # 'linear' / 'cosine' (T steps) or 'continuous_cosine' / 'continuous_linear'
        "timesteps": 1000,  # T of a discrete schedule
        "log_snr_max": 10.0,  # a continuous schedule's log-SNR at t = 0 ...
        "log_snr_min": -10.0,  # ... and at t = 1
        "prediction": "eps",  # 'eps', 'x0' or 'v'
        "weighting": "eps",  # 'eps' (L_simple), 'x0', 'v', 'min_snr'
        "learned_variance": False,  # a variance head trained by the hybrid objective
        "vlb_weight": 1e-3,  # lambda of the hybrid objective
        "conditioning": "none",  # or 'label' (classifier-free guidance)
        "label_dropout": 0.1,
        "guidance": 0.0,  # w: eps = (1 + w) eps(x, y) - w eps(x); 0 = the conditional model
        "sampler": "ddim",  # 'ddpm', 'ddim' or 'heun'
        "sampler_steps": 50,  # DDIM sub-sequence length or Heun noise levels
        "eta": 0.0,  # DDIM's noise (0: deterministic)
        "nll_terms": 50,  # step terms of the bound per test example, periodic evaluation
        "nll_terms_final": 200,  # ... and after training
    })
    m.update(overrides)
    return m


def unet(**overrides) -> ml_collections.ConfigDict:
    m = process(denoiser="unet", channels=32, channel_mults=(1, 2, 2), num_res_blocks=1,
                attention_resolutions=(7,), heads=1, dropout=0.1, groups=8)
    m.update(overrides)
    return m


def mlp(**overrides) -> ml_collections.ConfigDict:
    m = process(denoiser="mlp", hidden=128, blocks=3, timesteps=200, sampler_steps=50)
    m.update(overrides)
    return m


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "diffusion"
    if arg in ("mnist", "fashion_mnist", "mnist_cond"):
        # ~45 min of the 2-core dev CPU at 1.07 s per step (experiments/benchmarks/image_step.py)
        mnist(c, 2_400, binarize=False)
        c.data.name = "fashion_mnist" if arg == "fashion_mnist" else "mnist"
        c.train.ema_decay = 0.998
        c.optim.lr = 5e-4
        c.optim.warmup_steps = 100
        c.optim.grad_clip_norm = 1.0
        c.eval.every_steps = 0
        c.eval.num_samples = 100
        c.checkpoint.every_steps = 500
        # the bound over all 10,000 test images from 10 of the 1,000 step terms each (unbiased; its
        # spread is in the standard error): ~10 min of CPU, where all 1,000 would take ~16 hours
        c.model = unet(conditioning="label" if arg == "mnist_cond" else "none",
                       guidance=1.0 if arg == "mnist_cond" else 0.0, nll_terms=10, nll_terms_final=10)
    elif arg == "digits":
        digits(c, 3_000, binarize=False)
        c.train.ema_decay = 0.998
        c.optim.schedule = "cosine"
        c.optim.warmup_steps = 100
        c.optim.grad_clip_norm = 1.0
        c.model = unet(channel_mults=(1, 2), attention_resolutions=(4,), nll_terms=20, nll_terms_final=100)
    elif arg in ("ring8", "grid25"):
        toy(c, arg, 10_000)
        c.optim.lr = 1e-3
        c.train.ema_decay = 0.999
        c.eval.num_samples = 2_000
        # mode coverage on 2,500 samples after training: the GAN table's protocol (gan_modes.py)
        c.evals.metrics = ("modes",)
        c.evals.num_samples = 2_500
        # the full 200-step chain: DDIM with 50 steps left 87-93% of ring8's samples within 3 std of
        # a mode, DDPM and Heun (18 levels) 98-99.6% (one trained model; BENCHMARKS.md)
        c.model = mlp(sampler="ddpm", sampler_steps=200)
    elif arg in ("smoke", "smoke_cond"):
        shrink_for_smoke(c, "digits", 32)
        c.data.binarize = False
        c.model = unet(channels=8, channel_mults=(1, 2), attention_resolutions=(4,), timesteps=20, sampler_steps=5,
                       nll_terms=3, nll_terms_final=20, conditioning="label" if arg == "smoke_cond" else "none",
                       guidance=1.0 if arg == "smoke_cond" else 0.0, learned_variance=arg == "smoke_cond")
    elif arg == "smoke_2d":
        shrink_for_smoke(c, "ring8", 32)
        c.data.toy_train_size, c.data.toy_test_size = 512, 200
        c.model = mlp(hidden=16, blocks=1, timesteps=20, sampler_steps=5, nll_terms=3, nll_terms_final=20)
    else:
        raise ValueError(f"unknown ddpm config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = ("mnist", "fashion_mnist", "mnist_cond", "digits", "ring8", "grid25", "smoke", "smoke_cond", "smoke_2d")
