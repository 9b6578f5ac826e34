"""RealNVP configs (Dinh et al. 2017; family `flow`): multi-scale affine couplings on images,
alternating half couplings on 2-D data. glow.py and maf.py build on the sections here.

Variants (`realnvp.py:NAME`):
  mnist              8-bit MNIST, uniform dequantisation, logit transform, 2 scales (the
                     45-minute CPU target: <= 1.8 bits/dim).
  mnist_variational  the same with variational dequantisation (a conditional flow, Flow++).
  digits             the 8x8 digits' 17 grey levels (the digits leaderboard, beside the GMM / PPCA).
  two_moons / checkerboard / ring8 / grid25  RealNVP on 2-D toy data (exact log-density).
  smoke / smoke_variational / smoke_2d  a few steps of tiny models, for tests.

Run:
  python -m experiments.launch --config experiments/configs/realnvp.py:mnist --workdir runs/realnvp
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, mnist, shrink_for_smoke


def image_model(architecture: str, **overrides) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict({
        "architecture": architecture,  # 'realnvp' or 'glow'
        "levels": 2,  # scales; each but the last factors half its channels out
        "steps": 4,  # RealNVP: couplings per stage; Glow: (ActNorm, 1x1 conv, coupling) steps per level
        "features": 64,  # channels of each coupling's residual network
        "blocks": 2,  # residual blocks per coupling network
        "logit_alpha": 0.05,  # y -> logit(a + (1 - 2a) y)
        "dequantization": "uniform",  # or 'variational' (a conditional flow q(u | x), trained jointly)
        "deq_steps": 4,  # couplings of the variational dequantiser (read when it is used)
        "deq_features": 32,
        "eval_dequantization_samples": 1,  # draws of u per test image (periodic evaluations)
        "final_dequantization_samples": 16,  # draws of u for the final importance-weighted estimate
        "temperature": 1.0,  # samples z ~ N(0, T^2 I)
    })
    if architecture == "glow":
        m.lu = True  # LU-decomposed invertible 1x1 convolutions
    else:
        m.actnorm = True  # an ActNorm after each coupling (the paper's batch norm, without batch statistics)
    m.update(overrides)
    return m


def vector_model(architecture: str, **overrides) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict({
        "architecture": architecture,  # 'maf' or 'realnvp'
        "layers": 8,
        "hidden": (128, 128),
        "actnorm": True,  # an ActNorm before each layer
        "base_components": 0,  # 0: a N(0, I) base; K: a learned mixture of K diagonal Gaussians (MAF MoG)
        "temperature": 1.0,
    })
    m.update(overrides)
    return m


def eight_bit_mnist(c, steps: int) -> None:
    mnist(c, steps, binarize=False)
    c.optim.warmup_steps = 200
    c.optim.grad_clip_norm = 100.0
    c.eval.every_steps = 2_000
    c.eval.num_examples = 0  # all 10,000 test images (periodic: one dequantisation draw each)


def toy(c, name: str, steps: int = 10_000) -> None:
    c.data.name = name
    c.data.batch_size = 256
    c.data.eval_batch_size = 1_000
    c.train.num_steps = steps
    c.train.log_every = 500
    c.optim.lr = 1e-3
    c.optim.schedule = "cosine"
    c.optim.grad_clip_norm = 10.0
    c.eval.every_steps = steps // 2
    c.eval.num_samples = 2_000
    c.checkpoint.every_steps = steps // 2


def smoke(c, image: bool) -> None:
    shrink_for_smoke(c, "digits" if image else "two_moons", 32)
    c.data.toy_train_size, c.data.toy_test_size = 512, 200
    c.eval.num_samples = 8


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "flow"
    if arg in ("mnist", "mnist_variational"):
        # at most ~45 min of the 2-core dev CPU: 0.47 s (uniform) and 0.85 s (variational) per
        # step (experiments/benchmarks/image_step.py), with margin for the loop (Glow: 0.93 -> 1.0 s)
        eight_bit_mnist(c, 3_800 if arg == "mnist" else 2_200)
        c.model = image_model("realnvp", features=32, blocks=1,
                              dequantization="variational" if arg == "mnist_variational" else "uniform")
    elif arg == "digits":
        digits(c, 3_000, binarize=False)
        c.model = image_model("realnvp", levels=1, steps=4, features=32, blocks=1, final_dequantization_samples=64)
    elif arg in TOY:
        toy(c, arg, 20_000 if arg == "grid25" else 10_000)
        c.model = vector_model("realnvp")
    elif arg in ("smoke", "smoke_variational"):
        smoke(c, image=True)
        c.model = image_model("realnvp", levels=1, steps=1, features=8, blocks=1, deq_steps=1, deq_features=4,
                              final_dequantization_samples=3,
                              dequantization="variational" if arg == "smoke_variational" else "uniform")
    elif arg == "smoke_2d":
        smoke(c, image=False)
        c.model = vector_model("realnvp", layers=2, hidden=(16,))
    else:
        raise ValueError(f"unknown realnvp config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


TOY = ("two_moons", "checkerboard", "ring8", "grid25")
VARIANTS = ("mnist", "mnist_variational", "digits", *TOY, "smoke", "smoke_variational", "smoke_2d")
