"""The normalizing-flow family: RealNVP and Glow on images, MAF and RealNVP on vectors (2-D toy
data), trained by maximum likelihood (configs realnvp.py, glow.py, maf.py).

Images: the discrete levels are dequantised, uniformly or by a jointly trained conditional flow
(config.model.dequantization 'uniform' / 'variational'); the test log-likelihood is the
importance-weighted estimate over config.model.eval_dequantization_samples draws (final:
final_dequantization_samples), a lower bound on log P(levels) in expectation, with the
dequantisation stated. Vectors: the exact log-density (continuous data). Samples are drawn with
temperature config.model.temperature; figures/temperatures.png shows a grid per temperature
(images) and figures/density.png the model's density beside the data (2-D).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.classical.gmm import fit_gmm
from jaxgen.data.pipeline import DataSpec, to_model_input
from jaxgen.eval import images
from jaxgen.eval.likelihood import Likelihood
from jaxgen.families.base import Family
from jaxgen.models import flow as fl
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep

DEQUANTIZATIONS = ("uniform", "variational")
TEMPERATURES = (0.5, 0.7, 0.85, 1.0)  # rows of figures/temperatures.png
IMAGE_KEYS = ("levels", "steps", "features", "blocks", "logit_alpha", "dequantization", "deq_steps", "deq_features",
              "eval_dequantization_samples", "final_dequantization_samples")
VECTOR_KEYS = ("layers", "hidden", "actnorm", "base_components")


def make_flow(config, spec: DataSpec) -> tuple[object, fl.Dequantizer | None, int | None]:
    """(the flow, the dequantiser or None, the number of levels or None for continuous data)."""
    m = config.model
    if len(spec.shape) == 3:
        # Glow always normalises (ActNorm in every step) and has the LU option; RealNVP the reverse
        extra = {"lu": m.lu} if m.architecture == "glow" else {"actnorm": m.actnorm}
        flow = fl.ImageFlow(m.architecture, tuple(spec.shape), m.levels, m.steps, m.features, m.blocks,
                            alpha=m.logit_alpha, **extra)
        deq = fl.Dequantizer(m.deq_steps, m.deq_features)  # its keys are read whatever the dequantisation
        return flow, deq if m.dequantization == "variational" else None, spec.num_bins
    return fl.VectorFlow(m.architecture, m.layers, tuple(m.hidden), m.actnorm, m.base_components,
                         spec.shape[0]), None, None


def build_flow(config, spec: DataSpec) -> Family:
    m = config.model
    flow, deq, num_bins = make_flow(config, spec)
    step = GradientStep(fl.make_loss_fn(flow, deq, num_bins), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)
    draw = fl.make_sample_fn(flow, spec.shape, num_bins)

    def init(key, batch):
        x = batch["x"]
        k_u, k_flow, k_eps, k_deq = jax.random.split(key, 4)
        if num_bins:  # ActNorm initialises on a uniformly dequantised batch
            x = (fl.levels_of(x, num_bins) + jax.random.uniform(k_u, x.shape)) / num_bins
        params = {"flow": flow.init(k_flow, x)}
        if not num_bins and m.base_components:
            params["flow"] = _fit_mixture_base(flow, params["flow"], x, k_u)
        if deq is not None:
            params["deq"] = deq.init(k_deq, jax.random.normal(k_eps, x.shape), batch["x"])
        return params

    def sample(params, key, n, labels=None):
        if labels is not None:
            raise ValueError("labels were given to an unconditional flow")
        return draw(params, key, n, m.temperature)

    def likelihood(final: bool) -> Likelihood:
        if not num_bins:
            fn = fl.make_log_prob_fn(flow, None, None, 1)
            return Likelihood("exact", "change of variables", lambda p, b, k, s: fn(p, b, k),
                              dequantization="none (continuous data)", discrete=False)
        k = m.final_dequantization_samples if final else m.eval_dequantization_samples
        fn = fl.make_log_prob_fn(flow, deq, num_bins, k)
        how = "uniform" if deq is None else "variational (a conditional flow, Flow++)"
        return Likelihood("lower_bound", "importance-weighted dequantisation", lambda p, b, key, s: fn(p, b, key),
                          {"k": k}, dequantization=f"{how} over {num_bins} levels")

    def artifacts(params, key, loaded, workdir):
        fig = lambda name: os.path.join(workdir, "figures", f"{name}.png")
        if num_bins:
            rows = [np.asarray(draw(params, key, 8, t)) for t in TEMPERATURES]
            images.save_image_grid(fig("temperatures"), np.concatenate(rows), num_cols=8,
                                   upscale=images.grid_upscale(spec.shape[0]))
            return {"temperatures": fig("temperatures")}
        data = np.asarray(to_model_input(loaded.test["x"], loaded.scale))
        log_p = jax.jit(fl.density(flow))
        images.save_density_panels(fig("density"), data, {f"{m.architecture} density": lambda g: log_p(params["flow"], g)})
        return {"density": fig("density")}

    return Family(init_params=init, step=step, sample=sample, likelihood=likelihood, artifacts=artifacts)


def _fit_mixture_base(flow: fl.VectorFlow, params, x, key):
    """The mixture base's data-dependent init (as ActNorm's): a diagonal GMM fitted by EM (k-means++
    starts, the best of 5) to the initialising batch's codes z = f(x), so that training starts from
    one component per cluster instead of untangling randomly placed ones."""
    z, _ = flow.apply(params, x)
    gmm, _ = fit_gmm(key, z, flow.base_components, "diag", n_init=5)
    inner = dict(params["params"], base_logits=gmm.log_weights, base_means=gmm.means,
                 base_log_scales=jnp.log(gmm.scale))
    return {**params, "params": inner}


def validate_flow(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    image = shape is not None and len(shape) == 3
    allowed = fl.IMAGE_ARCHITECTURES if image else fl.VECTOR_ARCHITECTURES
    if shape is not None and m.architecture not in allowed:
        kind = "images" if image else f"vectors (shape {shape})"
        errors.append(f"config.model.architecture={m.architecture!r}: on {kind} expected one of {allowed}")
    if config.data.binarize:
        errors.append("config.data.binarize=True: a flow models grey levels (dequantised) or continuous data")
    if m.temperature <= 0:
        errors.append(f"config.model.temperature={m.temperature}: must be positive")
    needed = IMAGE_KEYS if image else VECTOR_KEYS
    missing = [k for k in needed if k not in m]
    if shape is not None and missing:
        source = "realnvp.py / glow.py image" if image else "maf.py / realnvp.py 2-D"
        errors.append(f"config.model lacks {missing} for {'images' if image else 'vectors'}: start from a {source} variant")
    counts = (("levels", "steps", "features", "blocks", "deq_steps", "deq_features", "eval_dequantization_samples",
               "final_dequantization_samples") if image else ("layers",))
    if not image and "base_components" in m and m.base_components < 0:
        errors.append(f"config.model.base_components={m.base_components}: 0 (a standard normal base) or a "
                      "number of mixture components")
    elif not image and m.get("base_components", 0) > config.data.batch_size:
        errors.append(f"config.model.base_components={m.base_components}: the mixture base starts from EM on the "
                      f"first batch, which needs config.data.batch_size={config.data.batch_size} >= that many examples")
    for key in counts:
        if key in m and m[key] < 1:
            errors.append(f"config.model.{key}={m[key]}: must be >= 1")
    if image:
        if m.dequantization not in DEQUANTIZATIONS:
            errors.append(f"config.model.dequantization={m.dequantization!r}: expected one of {DEQUANTIZATIONS}")
        if not 0.0 < m.logit_alpha < 0.5:
            errors.append(f"config.model.logit_alpha={m.logit_alpha}: must be in (0, 0.5)")
        try:
            fl.factor_shapes(m.architecture, shape, m.levels)
        except ValueError as err:
            errors.append(f"config.model.levels={m.levels}: {err}")
