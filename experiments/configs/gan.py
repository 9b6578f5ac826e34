"""GAN configs: every loss of the zoo on ring8, grid25 and MNIST.

Variants (`gan.py:DATA_LOSS`), DATA in ring8, grid25, mnist and LOSS in
  minimax        saturating generator loss (Goodfellow et al. 2014)
  nonsaturating  -log D(G(z))
  nonsaturating_r1  the same + R1 penalty gamma 1 on real data (Mescheder et al. 2018)
  wgan           critic with weight clipping 0.01, RMSProp 5e-5, 5 critic steps (Arjovsky et al. 2017)
  wgan_gp        WGAN critic + gradient penalty, lambda 10, Adam(0.5, 0.9), 5 critic steps (Gulrajani et al. 2017)
  lsgan          least squares, (a, b, c) = (0, 1, 1) (Mao et al. 2017)
  dragan         non-saturating loss + DRAGAN penalty, lambda 10 (Kodali et al. 2017)
  began          autoencoder discriminator, gamma 0.5, lambda_k 1e-3 (Berthelot et al. 2017)
  hinge          hinge loss with spectral normalisation in D (Miyato et al. 2018)
e.g. `gan.py:ring8_wgan_gp`; `gan.py:smoke` (and `gan.py:smoke_LOSS`) are tiny runs for tests.

Run:
  python -m experiments.launch --config experiments/configs/gan.py:ring8_nonsaturating --workdir runs/gan_ring8
Mode-coverage table over seeds: python -m experiments.benchmarks.gan_modes
"""

import ml_collections

from experiments.configs.base import add_d_optim, get_base_config, lock, shrink_for_smoke
from jaxgen.data import toy

DATASETS = ("ring8", "grid25", "mnist")
LOSSES = ("minimax", "nonsaturating", "nonsaturating_r1", "wgan", "wgan_gp", "lsgan", "dragan", "began", "hinge")


def model_defaults() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({
        "loss": "nonsaturating",  # minimax, nonsaturating, wgan, lsgan, hinge, began
        "penalty": "none",  # none, gp, dragan, r1, r2
        "penalty_weight": 10.0,  # lambda (gp, dragan) or gamma (r1, r2: gamma / 2 * ||grad||^2)
        "weight_clip": 0.0,  # WGAN weight clipping of D's params (0: off)
        "d_steps": 1,  # k discriminator updates per generator update
        "latent_dim": 64,
        "g_hidden": (128, 128, 128),  # MLP widths (2-D data)
        "d_hidden": (128, 128, 128),
        "g_channels": (256, 128),  # DCGAN generator: one x2 upsampling per entry
        "d_channels": (64, 128),  # DCGAN discriminator: one stride-2 conv per entry
        "g_norm": "none",  # batch, layer, none
        "d_norm": "none",
        "spectral_norm": False,
        "upsample": "subpixel",  # subpixel or transpose (ConvTranspose 4x4 s2)
        "downsample": "space_to_depth",  # space_to_depth (+ 2x2 conv) or strided (Conv 4x4 s2)
        "conditioning": "none",  # none, concat, projection
        "lsgan_a": 0.0,
        "lsgan_b": 1.0,
        "lsgan_c": 1.0,
        "dragan_c": 0.5,
        "began_gamma": 0.5,
        "began_lambda_k": 0.001,
        "began_code_dim": 32,
    })


def gan_base() -> ml_collections.ConfigDict:
    c = get_base_config()
    c.family = "gan"
    c.model = model_defaults()
    c.optim.b1 = 0.5  # generator (Radford et al. 2016)
    c.optim.lr = 2e-4
    add_d_optim(c)  # discriminator: its own optimizer and lr (TTUR)
    c.eval.mode_min_count = 1  # high-quality samples a mode needs to count as covered
    c.eval.use_ema = True
    return c


def set_loss(c, loss: str) -> None:
    """The settings of each paper for `loss` (one of LOSSES)."""
    m = c.model
    if loss in ("minimax", "nonsaturating", "lsgan", "hinge", "began"):
        m.loss = loss
    if loss == "wgan":
        m.loss, m.weight_clip, m.d_steps = "wgan", 0.01, 5
        for opt in (c.optim, c.d_optim):
            opt.name, opt.lr = "rmsprop", 5e-5
    elif loss == "wgan_gp":
        m.loss, m.penalty, m.penalty_weight, m.d_steps = "wgan", "gp", 10.0, 5
        for opt in (c.optim, c.d_optim):
            opt.lr, opt.b1, opt.b2 = 1e-4, 0.5, 0.9
    elif loss == "nonsaturating_r1":
        m.loss, m.penalty, m.penalty_weight = "nonsaturating", "r1", 1.0
    elif loss == "dragan":
        m.loss, m.penalty, m.penalty_weight = "nonsaturating", "dragan", 10.0
    elif loss == "hinge":
        m.spectral_norm = True
    elif loss == "began":
        for opt in (c.optim, c.d_optim):
            opt.lr, opt.b1 = 1e-4, 0.9
    elif loss not in LOSSES:
        raise ValueError(f"unknown GAN loss {loss!r}; expected one of {LOSSES}")


def finish(c) -> ml_collections.ConfigDict:
    """Drop the keys this variant's networks never read, then lock: a key that is there is used
    (MLP widths only on 2-D data, DCGAN channels only on images, BEGAN's code size only with
    its autoencoder discriminator, which has no spectral normalisation)."""
    m, image = c.model, c.data.name not in toy.SAMPLERS
    drop = ["g_hidden"] if image else ["g_channels"]
    drop += ["spectral_norm"] if m.loss == "began" else ["began_code_dim"]
    for key in drop:
        del m[key]
    if c.data.name not in toy.MODES:
        del c.eval["mode_min_count"]  # the mode-coverage protocol is for mixtures with known modes
    return lock(c)


def _toy(c, name: str) -> None:
    c.data.name = name
    # A 2-D latent: with 64-D noise the non-saturating GAN collapsed to 1 of 8 modes
    # in every trial here; with 2-D noise it covered 8/8 (BENCHMARKS.md).
    c.model.latent_dim = 2
    c.data.batch_size = 256
    c.data.eval_batch_size = 500
    c.train.num_steps = 10_000
    c.train.log_every = 500
    c.train.ema_decay = 0.999
    c.eval.every_steps = 2_500
    c.eval.num_examples = 2_500  # the 2,500 samples of the Unrolled GAN / VEEGAN protocol
    if c.model.penalty == "gp":
        # The paper's lr 1e-4 had not moved the generator off the origin after 10,000 updates
        # (0/8 ring modes, 2 seeds); 1e-3 covers 8/8 (BENCHMARKS.md).
        c.optim.lr = c.d_optim.lr = 1e-3
    c.eval.num_samples = 2_000
    c.checkpoint.every_steps = 5_000
    if name == "grid25":
        # 25 modes of std 0.05 over [-4, 4]^2: 128-unit networks left 91% of the samples on
        # streaks between modes; 256 units and 30,000 updates sharpen them (BENCHMARKS.md).
        c.model.g_hidden = c.model.d_hidden = (256, 256, 256)
        c.train.num_steps = 30_000
        c.eval.every_steps = 10_000
        c.checkpoint.every_steps = 10_000
        if c.model.penalty == "gp":
            # lambda 10 left a diffuse cloud (<= 21 modes, <= 7% high quality in every trial);
            # lambda 0.1, the setting of the WGAN-GP authors' own toy code, covers 25/25 with 86%
            # after 10,000 generator (50,000 critic) updates (BENCHMARKS.md).
            c.model.penalty_weight = 0.1
            c.train.num_steps = 10_000
            c.eval.every_steps = 5_000
            c.checkpoint.every_steps = 5_000


def _mnist(c) -> None:
    c.data.name = "mnist"
    c.data.batch_size = 64
    c.data.eval_batch_size = 500
    c.model.g_norm = "batch"
    c.model.d_norm = "batch" if c.model.penalty == "none" else "layer"
    c.model.latent_dim = 100
    c.model.began_code_dim = 64
    c.train.num_steps = 6_000
    c.train.log_every = 100
    c.train.ema_decay = 0.999
    c.eval.every_steps = 1_000
    c.eval.num_examples = 2_000
    c.eval.num_samples = 100
    c.checkpoint.every_steps = 1_000


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "ring8_nonsaturating"
    c = gan_base()
    if arg == "smoke" or arg.startswith("smoke_"):
        set_loss(c, arg[len("smoke_"):] if arg != "smoke" else "nonsaturating")
        shrink_for_smoke(c, "ring8", 32)
        c.data.toy_train_size = 1_000
        c.data.toy_test_size = 200
        c.model.latent_dim = 8
        c.model.g_hidden = c.model.d_hidden = (16,)
        c.model.d_steps = min(c.model.d_steps, 2)
        c.train.ema_decay = 0.9
        return finish(c)
    data, _, loss = arg.partition("_")
    if data not in DATASETS or loss not in LOSSES:
        raise ValueError(f"unknown gan config variant {arg!r}; expected DATA_LOSS with DATA in {DATASETS} and LOSS in "
                         f"{LOSSES}, or smoke[_LOSS]")
    set_loss(c, loss)
    if data == "mnist":
        _mnist(c)
    else:
        _toy(c, data)
    return finish(c)


VARIANTS = tuple(f"{d}_{loss}" for d in DATASETS for loss in LOSSES) + ("smoke",) + tuple(f"smoke_{x}" for x in LOSSES)
