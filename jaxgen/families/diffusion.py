"""The diffusion family (config ddpm.py): a U-Net (images) or MLP (2-D data) denoiser on a
variance-preserving schedule, trained by the denoising loss (eps / x0 / v prediction, SNR
weightings; learned variances by the hybrid objective), sampled by DDPM, DDIM or the Heun
solver (config.model.sampler), guided without a classifier when class-conditional.

The test log-likelihood is minus the variational bound: on grey levels the discretised Gaussian
decoder makes it a bound on log P(levels) (no dequantisation); on 2-D data a Gaussian decoder
makes it a bound on the density. A discrete schedule's T step terms are estimated from
config.model.nll_terms steps per example (final: nll_terms_final); a continuous schedule's
time integral (Kingma et al. 2021) from as many stratified times; both stated in the result.
Figures: figures/samplers.png (a row per sampler: DDPM, DDIM 10 and 50 steps, Heun 18 levels) and, class-conditional,
figures/guidance.png (a row per guidance weight, a column per class).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.data.pipeline import DataSpec
from jaxgen.eval import images
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.losses.diffusion import PREDICTIONS, WEIGHTINGS
from jaxgen.losses.schedules import KINDS, make_schedule
from jaxgen.models import diffusion as dm
from jaxgen.nn.denoisers import MLPDenoiser, UNetDenoiser
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

DENOISERS = ("unet", "mlp")
CONDITIONINGS = ("none", "label")
GUIDANCE_FIGURE = (0.0, 1.0, 3.0)  # rows of figures/guidance.png


def make_model(config, spec: DataSpec) -> dm.Diffusion:
    m = config.model
    classes = spec.num_classes if m.conditioning == "label" else 0
    out = 2 if m.learned_variance else 1
    if m.denoiser == "unet":
        net = UNetDenoiser(m.channels, tuple(m.channel_mults), m.num_res_blocks, tuple(m.attention_resolutions),
                           m.heads, m.dropout, classes, out, m.groups)
    else:
        net = MLPDenoiser(m.hidden, m.blocks, classes, out)
    schedule = make_schedule(m.schedule, m.timesteps, m.log_snr_max, m.log_snr_min)
    return dm.Diffusion(net, schedule, m.prediction, m.weighting, m.learned_variance, m.vlb_weight, classes,
                        m.label_dropout, image=len(spec.shape) == 3)


def build_diffusion(config, spec: DataSpec) -> Family:
    m = config.model
    model = make_model(config, spec)
    num_bins = spec.num_bins if model.image else None
    step = GradientStep(dm.make_loss_fn(model, num_bins), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    shape = tuple(spec.shape)
    default = {"sampler": m.sampler, "steps": m.sampler_steps, "guidance": m.guidance, "eta": m.eta}

    def labels_for(n, labels):
        if not model.num_classes:
            if labels is not None:
                raise ValueError("labels were given to an unconditional diffusion model (config.model.conditioning='none')")
            return None
        return jnp.arange(n) % model.num_classes if labels is None else labels

    def draw(params, key, n, labels=None, **settings):
        s = {**default, **settings}
        return dm.sample(model, params, key, (n, *shape), s["sampler"], s["steps"], labels_for(n, labels),
                         s["guidance"], s["eta"])

    def sample(params, key, n, labels=None):
        return jax.jit(lambda p, k, lab: draw(p, k, n, lab))(params, key, labels_for(n, labels))

    def likelihood(final: bool) -> Likelihood | None:
        k = m.nll_terms_final if final else m.nll_terms
        how = (f"none (discretised Gaussian decoder over {num_bins} levels)" if num_bins
               else "none (continuous data, Gaussian decoder)")
        if model.schedule.discrete:
            fn = dm.make_nll_fn(model, num_bins, k)
            estimator, settings = "variational bound", {"timesteps": model.schedule.num_steps, "terms_per_example": k}
        else:  # Kingma et al. 2021's continuous-time bound, k stratified times per example
            fn = dm.make_continuous_nll_fn(model, num_bins, k)
            estimator = "continuous-time variational bound"
            settings = {"log_snr": [model.schedule.log_snr_max, model.schedule.log_snr_min], "times_per_example": k}
        return Likelihood("lower_bound", estimator, lambda p, b, key, s: fn(p, b, key), settings, dequantization=how,
                          discrete=num_bins is not None, conditional=bool(model.num_classes))

    def init(key, batch):
        x = batch["x"][:1]
        labels = batch["label"][:1] if model.num_classes else None
        return model.net.init(key, model.to_model(x), jnp.ones((1,)), labels)

    def artifacts(params, key, loaded, workdir):
        if not model.image:
            return {}
        fig = lambda name: os.path.join(workdir, "figures", f"{name}.png")
        up = images.grid_upscale(shape[0])
        rows, T = [], model.schedule.num_steps
        plan = ([("ddpm", T), ("ddim", min(10, T)), ("ddim", min(50, T))] if T else []) + [("heun", 18)]
        for i, (name, steps) in enumerate(plan):
            rows.append(np.asarray(jax.jit(lambda p, k, nm=name, st=steps: draw(p, k, 10, sampler=nm, steps=st))(
                params, jax.random.fold_in(key, i))))
        images.save_image_grid(fig("samplers"), np.concatenate(rows), num_cols=10, upscale=up)
        out = {"samplers": fig("samplers")}
        if model.num_classes:
            labels = jnp.arange(model.num_classes)
            grid = [np.asarray(jax.jit(lambda p, k, w=w: draw(p, k, model.num_classes, labels, guidance=w))(
                params, jax.random.fold_in(key, 100))) for w in GUIDANCE_FIGURE]
            images.save_image_grid(fig("guidance"), np.concatenate(grid), num_cols=model.num_classes, upscale=up)
            out["guidance"] = fig("guidance")
        return out

    return Family(init_params=init, step=step, sample=sample, likelihood=likelihood, artifacts=artifacts)


def validate_diffusion(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    choices = (("denoiser", DENOISERS), ("schedule", KINDS), ("prediction", PREDICTIONS), ("weighting", WEIGHTINGS),
               ("sampler", dm.SAMPLERS), ("conditioning", CONDITIONINGS))
    for key, allowed in choices:
        if m[key] not in allowed:
            errors.append(f"config.model.{key}={m[key]!r}: expected one of {allowed}")
    if config.data.binarize:
        errors.append("config.data.binarize=True: a diffusion model denoises grey levels or continuous data")
    if shape is not None and m.denoiser == "unet" and len(shape) != 3:
        errors.append(f"config.model.denoiser='unet' needs images [H, W, C], got shape {shape} (use 'mlp')")
    if shape is not None and m.denoiser == "mlp" and len(shape) != 1:
        errors.append(f"config.model.denoiser='mlp' takes vectors, got shape {shape} (use 'unet')")
    if shape is not None and len(shape) == 3 and m.denoiser == "unet":
        levels = len(m.channel_mults) - 1
        if shape[0] % 2**levels or shape[1] % 2**levels:
            errors.append(f"config.model.channel_mults={tuple(m.channel_mults)}: {levels} halvings need H, W divisible by "
                          f"{2**levels}, got {shape[:2]}")
    discrete = m.schedule in ("linear", "cosine")
    if discrete and m.timesteps < 2:
        errors.append(f"config.model.timesteps={m.timesteps}: must be >= 2")
    if not discrete and m.sampler != "heun":
        errors.append(f"config.model.sampler={m.sampler!r} steps through a discrete schedule; schedule "
                      f"{m.schedule!r} is continuous (use 'heun')")
    if not discrete and m.learned_variance:
        errors.append("config.model.learned_variance=True needs a discrete schedule ('linear' or 'cosine')")
    if discrete and m.sampler == "ddim" and not 1 <= m.sampler_steps <= m.timesteps:
        errors.append(f"config.model.sampler_steps={m.sampler_steps}: DDIM takes 1..timesteps={m.timesteps}")
    if m.sampler == "heun" and m.sampler_steps < 2:
        errors.append(f"config.model.sampler_steps={m.sampler_steps}: the Heun sampler needs >= 2 levels")
    if m.guidance and m.conditioning == "none":
        errors.append(f"config.model.guidance={m.guidance}: only a class-conditional model is guided")
    if not 0.0 <= m.label_dropout < 1.0:
        errors.append(f"config.model.label_dropout={m.label_dropout}: must be in [0, 1)")
    if m.eta < 0:
        errors.append(f"config.model.eta={m.eta}: must be >= 0")
    for key in ("nll_terms", "nll_terms_final"):
        if discrete and not 1 <= m[key] <= m.timesteps:
            errors.append(f"config.model.{key}={m[key]}: must be in 1..timesteps={m.timesteps}")
