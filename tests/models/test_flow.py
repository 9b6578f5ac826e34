"""Normalizing flows (jaxgen.models.flow, family `flow`): whole flows invert and their log-dets
equal slogdet of the Jacobian; a 2-D flow's density integrates to 1; on a tiny discrete space
the dequantisation bounds lie below the true log-probabilities (computed by quadrature, which
also sum to 1 over every level) and the importance-weighted estimate approaches them; smoke runs.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import realnvp as realnvp_config
from jaxgen.models import flow as fl
from jaxgen.run import checks
from tests.nn.test_bijectors import _check, _perturbed


@pytest.mark.parametrize("architecture", ["realnvp", "glow"])
def test_image_flow_inverts_with_the_jacobians_log_det(architecture):
    x = jax.random.uniform(jax.random.key(0), (2, 4, 4, 1), minval=0.05, maxval=0.95)
    flow = fl.ImageFlow(architecture, (4, 4, 1), levels=2, steps=1, features=8, blocks=1)
    z = _check(flow, x, scale=0.1)
    assert z.shape == (2, 16)


def test_inverse_needs_no_batch_to_restore_factored_pieces():
    assert fl.factor_shapes("realnvp", (28, 28, 1), 2) == [(14, 14, 2), (14, 14, 2)]
    assert fl.factor_shapes("glow", (28, 28, 1), 2) == [(14, 14, 2), (7, 7, 8)]
    with pytest.raises(ValueError, match="odd"):
        fl.factor_shapes("glow", (28, 28, 1), 3)


@pytest.mark.parametrize("architecture,components", [("maf", 0), ("realnvp", 0), ("maf", 3)])
def test_a_2d_flow_density_integrates_to_one(architecture, components):
    flow = fl.VectorFlow(architecture, layers=3, hidden=(16,), actnorm=True, base_components=components, dim=2)
    x0 = jax.random.normal(jax.random.key(0), (64, 2))
    params = _perturbed(flow.init(jax.random.key(1), x0), jax.random.key(2), 0.1)
    step = 0.04
    ticks = np.arange(-25.0, 25.0, step) + step / 2
    grid = jnp.asarray(np.stack(np.meshgrid(ticks, ticks), -1).reshape(-1, 2), jnp.float32)
    log_p = jax.jit(fl.density(flow))(params, grid)
    assert float(jnp.sum(jnp.exp(log_p)) * step**2) == pytest.approx(1.0, abs=5e-3)


BINS = 4


def _tiny(dequantizer: bool):
    """A RealNVP on 1x2 images of 4 levels (16 possible images), parameters moved off the identity.
    A small logit alpha: the transform then covers nearly all of the base's mass, so the levels'
    probabilities sum to 1 (with alpha a the mass outside the box (logit a, -logit a) is lost)."""
    flow = fl.ImageFlow("realnvp", (1, 2, 1), levels=1, steps=2, features=8, blocks=1, alpha=1e-4)
    deq = fl.Dequantizer(steps=2, features=4) if dequantizer else None
    x = jax.random.uniform(jax.random.key(0), (8, 1, 2, 1), minval=0.1, maxval=0.9)
    params = {"flow": _perturbed(flow.init(jax.random.key(1), x), jax.random.key(2), 0.15)}
    if deq is not None:
        params["deq"] = _perturbed(deq.init(jax.random.key(3), jax.random.normal(jax.random.key(4), x.shape), x),
                                   jax.random.key(5), 0.1)
    return flow, deq, params


def _true_log_probs(flow, params, alpha: float = 1e-4, cells: int = 100) -> np.ndarray:
    """log P(k) = log of the integral of p(y) over the cell of y = (k + u) / B, u in [0, 1)^2, for
    the 16 images k (row-major over (k0, k1)). Integrated in the logit space h, where the density
    p(y) |dy/dh| is smooth and each cell is a finite rectangle (midpoint rule, cells^2 points)."""
    log_p = jax.jit(fl.density(flow))
    edges = np.log(alpha + (1 - 2 * alpha) * np.arange(BINS + 1) / BINS) - np.log1p(
        -(alpha + (1 - 2 * alpha) * np.arange(BINS + 1) / BINS))  # logit of each cell edge
    out = []
    for k0 in range(BINS):
        for k1 in range(BINS):
            axes = [edges[k] + (np.arange(cells) + 0.5) / cells * (edges[k + 1] - edges[k]) for k in (k0, k1)]
            h = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
            sig = 1.0 / (1.0 + np.exp(-h))
            y = (sig - alpha) / (1 - 2 * alpha)
            log_dy_dh = np.sum(np.log(sig * (1 - sig) / (1 - 2 * alpha)), -1)
            lp = np.asarray(log_p(params["flow"], jnp.asarray(y.reshape(-1, 1, 2, 1), jnp.float32)), np.float64)
            area = np.prod([(edges[k + 1] - edges[k]) / cells for k in (k0, k1)])
            out.append(np.log(np.sum(np.exp(lp + log_dy_dh)) * area))
    return np.asarray(out)


@pytest.mark.parametrize("dequantizer", [False, True], ids=["uniform", "variational"])
def test_dequantisation_bounds_and_importance_weighted_estimate_against_quadrature(dequantizer):
    flow, deq, params = _tiny(dequantizer)
    true = _true_log_probs(flow, params)
    # the quadrature against the frequencies of the flow's own samples (the mass the logit box
    # leaves out, samples outside [0, 1]^2, belongs to no level)
    n = 100_000
    x, _ = flow.apply(params["flow"], jax.random.normal(jax.random.key(6), (n, 2)), True)
    x = np.asarray(x).reshape(n, 2)
    inside = np.all((x >= 0) & (x < 1), -1)
    cells = (np.floor(x[inside] * BINS) @ np.asarray([BINS, 1])).astype(int)
    freq = np.bincount(cells, minlength=16) / n
    np.testing.assert_array_less(np.abs(freq - np.exp(true)), 4.5 * np.sqrt(np.exp(true) / n) + 1e-4)
    assert 0.99 < np.sum(np.exp(true)) <= 1.0
    levels = np.stack(np.meshgrid(np.arange(BINS), np.arange(BINS), indexing="ij"), -1).reshape(-1, 1, 2, 1)
    # each image repeated, with its own dequantisation draws (distinct indices); the dequantiser's
    # network makes its draws costlier, so fewer
    repeats, ks = (16, (1, 10, 100)) if dequantizer else (32, (1, 10, 100, 1000))
    batch = {"x": jnp.asarray(np.tile(levels, (repeats, 1, 1, 1)) / (BINS - 1), jnp.float32),
             "index": jnp.arange(16 * repeats)}
    gaps = {}
    for k in ks:
        out = jax.jit(fl.make_log_prob_fn(flow, deq, BINS, k))(params, batch, jax.random.key(7))
        estimate = np.asarray(out["log_prob"]).reshape(repeats, 16).mean(0)  # E[log-mean-exp of k weights]
        gaps[k] = float(np.mean(true - estimate))
        bound = np.asarray(out["bound"]).reshape(repeats, 16).mean(0)  # E[log w] over repeats x k draws
    assert np.all(bound < true), bound - true  # the single-draw bound, from the most draws
    values = [gaps[k] for k in ks]
    assert all(a > b for a, b in itertools.pairwise(values)) and values[-1] > -2e-3, gaps  # tightening, from below
    assert values[-1] < 0.5 * values[0], gaps


def test_mixture_base_starts_from_em_on_the_first_batch():
    """MAF MoG's data-dependent init: before any step, its density on ring8 (8 Gaussians of std
    0.02) is within 0.1 nats of the closed-form density, held-out; a random-init base is far off."""
    from experiments.configs import maf as maf_config
    from jaxgen.data import toy
    from jaxgen.data.pipeline import DataSpec
    from jaxgen.families.flow import build_flow, make_flow

    c = maf_config.get_config("ring8_mog")
    family = build_flow(c, DataSpec((2,), 0, None, 512, 2_000))
    x_train, x_test = toy.ring8(jax.random.key(0), 512), toy.ring8(jax.random.key(1), 2_000)
    params = family.init_params(jax.random.key(2), {"x": x_train})
    flow, _, _ = make_flow(c, DataSpec((2,), 0, None, 512, 2_000))
    gap = float(jnp.mean(toy.log_density("ring8", x_test) - fl.density(flow)(params["flow"], x_test)))
    assert abs(gap) < 0.1, gap
    random_init = flow.init(jax.random.key(2), x_train)
    assert float(jnp.mean(toy.log_density("ring8", x_test) - fl.density(flow)(random_init, x_test))) > 1.0


def test_flow_configs_refuse_bad_values_before_anything_runs():
    c = realnvp_config.get_config("smoke")
    c.model.architecture = "maf"  # MAF is for vectors
    c.model.logit_alpha = 0.7
    with pytest.raises(checks.ConfigError, match="architecture='maf'.*\n?.*logit_alpha=0.7|logit_alpha=0.7"):
        checks.check(c, num_devices=1)
    c = realnvp_config.get_config("smoke_2d")
    c.data.binarize = True
    with pytest.raises(checks.ConfigError, match="binarize"):
        checks.check(c, num_devices=1)
    from experiments.configs import maf as maf_config

    c = maf_config.get_config("smoke")
    c.data.batch_size = 1  # fewer than the base's 2 components: EM on the first batch cannot start
    with pytest.raises(checks.ConfigError, match="base_components=2.*batch_size=1"):
        checks.check(c, num_devices=1)


@pytest.mark.parametrize("module,variant,figure", [("realnvp", "smoke_variational", "temperatures"),
                                                   ("glow", "smoke", "temperatures"), ("maf", "smoke", "density")])
def test_smoke_runs_report_their_likelihood_and_figures(smoke_run, module, variant, figure):
    workdir, metrics, _ = smoke_run(module, variant)
    assert np.isfinite(metrics["test_log_likelihood"])
    assert (workdir / "figures" / f"{figure}.png").exists()
    if module != "maf":  # images: a bound under the dequantisation it states
        assert metrics["test_log_likelihood"] >= metrics["test_bound"] - 1.0
