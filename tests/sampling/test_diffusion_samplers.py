"""Diffusion samplers with the exact denoiser of Gaussian data: every sampler must return that
Gaussian; DDIM's sub-sequence and its eta = 0 / eta = 1 limits against their definitions."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.losses import schedules as sch
from jaxgen.sampling import diffusion as ds

MU = np.array([0.5, -1.0])
COV = np.array([[1.0, 0.6], [0.6, 0.5]])


def exact_denoiser(schedule):
    """E[x_0 | x_t] of x_0 ~ N(MU, COV): MU + a COV (a^2 COV + s^2 I)^-1 (x_t - a MU), and the eps it implies."""
    mu, cov = jnp.asarray(MU, jnp.float32), jnp.asarray(COV, jnp.float32)

    def denoise(x, t):
        a, s = schedule.alpha_sigma(t)
        a, s = a[:, None, None], s[:, None, None]
        gain = a * cov @ jnp.linalg.inv(a**2 * cov + s**2 * jnp.eye(2))  # [B, 2, 2]
        x0 = mu + jnp.einsum("bij,bj->bi", gain, x - a[:, :, 0] * mu)
        return x0, (x - a[:, :, 0] * x0) / s[:, :, 0]

    return denoise


def _check_gaussian(x, cov=COV, atol_cov=0.04):
    x = np.asarray(x, np.float64)
    n = len(x)
    se = np.sqrt(np.diag(COV) / n)
    assert np.all(np.abs(x.mean(0) - MU) < 5 * se + 0.01), (x.mean(0), MU)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=atol_cov)


N = 20_000
SAMPLERS = {
    "ddpm_beta": lambda d, s, k: ds.ddpm_sample(d, s, k, (N, 2), "beta"),
    "ddpm_beta_tilde": lambda d, s, k: ds.ddpm_sample(d, s, k, (N, 2), "beta_tilde"),
    "ddim_50": lambda d, s, k: ds.ddim_sample(d, s, k, (N, 2), 50, eta=0.0),
    "heun_64": lambda d, s, k: ds.heun_sample(d, s, k, (N, 2), 64),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_returns_the_gaussian_of_the_exact_denoiser(name):
    schedule = sch.make_schedule("cosine", 200)  # T = 200 keeps DDPM's chain short for the suite
    x = jax.jit(functools.partial(SAMPLERS[name], exact_denoiser(schedule), schedule))(jax.random.key(0))
    _check_gaussian(x)


def _scalar_heun_variance_ratio(v: float, sigmas: np.ndarray) -> float:
    """Heun's method by hand on one eigen-direction of variance v, where the ODE is
    dy/dsigma = sigma / (v + sigma^2) y (y - mean; exact solution y ~ sqrt(v + sigma^2)): the
    variance it ends with over v."""
    f = lambda y, s: s / (v + s * s) * y
    y = np.sqrt(v + sigmas[0] ** 2)
    for a, b in itertools.pairwise(sigmas):
        y_euler = y + (b - a) * f(y, a)
        y = y + (b - a) * (0.5 * (f(y, a) + f(y_euler, b)) if b > 0 else f(y, a))
    return (y / np.sqrt(v)) ** 2


@pytest.mark.parametrize("kind", ["continuous_cosine", "linear"])
def test_heun_with_18_steps_has_exactly_heuns_discretisation_error(kind):
    """18 EDM levels leave Heun ~10% too much variance on this Gaussian: the sampler must show
    the error of the same recursion computed by hand along each eigen-direction, not another."""
    schedule = sch.make_schedule(kind, 1000, log_snr_max=12.0, log_snr_min=-12.0)
    lo, hi = ds.sigma_range(schedule)
    sigmas = ds.edm_sigmas(18, lo, min(hi, 80.0))
    lam, vecs = np.linalg.eigh(COV)
    want = vecs @ np.diag([_scalar_heun_variance_ratio(v, sigmas) * v for v in lam]) @ vecs.T
    assert np.max(np.abs(want - COV)) > 0.05  # the error is visible at this sample size
    _check_gaussian(ds.heun_sample(exact_denoiser(schedule), schedule, jax.random.key(1), (N, 2), 18), want, 0.025)


def test_discrete_samplers_refuse_a_continuous_schedule():
    schedule = sch.make_schedule("continuous_cosine")
    with pytest.raises(ValueError, match="continuous"):
        ds.ddpm_sample(exact_denoiser(schedule), schedule, jax.random.key(1), (4, 2))


def test_ddim_sub_sequence_ends_at_T_and_the_full_one_is_every_step():
    np.testing.assert_array_equal(ds.ddim_steps(1000, 1000), np.arange(1, 1001))
    np.testing.assert_array_equal(ds.ddim_steps(10, 1000), np.arange(100, 1001, 100))
    assert ds.ddim_steps(3, 10).tolist() == [3, 7, 10]
    with pytest.raises(ValueError, match="num_steps=0"):
        ds.ddim_steps(0, 10)


def test_ddim_eta0_is_deterministic_and_eta1_on_every_step_is_ddpm_with_beta_tilde():
    schedule = sch.make_schedule("linear", 50)
    denoise = exact_denoiser(schedule)
    x_T = jax.random.normal(jax.random.key(3), (64, 2))
    run = lambda key, eta: ds.ddim_sample(denoise, schedule, key, (64, 2), 50, eta, x_init=x_T)
    np.testing.assert_array_equal(np.asarray(run(jax.random.key(4), 0.0)), np.asarray(run(jax.random.key(5), 0.0)))
    assert not np.allclose(np.asarray(run(jax.random.key(4), 1.0)), np.asarray(run(jax.random.key(5), 1.0)))
    # the same step noise (both fold the step index i into the key): the same chain, step by step
    ddpm = ds.ddpm_sample(denoise, schedule, jax.random.key(4), (64, 2), "beta_tilde", x_init=x_T)
    np.testing.assert_allclose(np.asarray(run(jax.random.key(4), 1.0)), np.asarray(ddpm), atol=2e-4)


def test_edm_sigmas_follow_karras_et_al():
    s = ds.edm_sigmas(18, 0.002, 80.0)
    assert len(s) == 19 and s[-1] == 0.0
    np.testing.assert_allclose([s[0], s[17]], [80.0, 0.002], rtol=1e-12)
    i = 5
    np.testing.assert_allclose(s[i], (80 ** (1 / 7) + i / 17 * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7)


SHARDED = """
import json
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from jaxgen.losses import schedules as sch
from jaxgen.models import diffusion as dm
from jaxgen.nn.denoisers import MLPDenoiser
model = dm.Diffusion(MLPDenoiser(16, 1, 0, 1), sch.make_schedule("cosine", 50), "eps", "eps", False, 1e-3, 0, 0.0,
                     image=False)
params = model.net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.ones((1,)), None)
mesh = Mesh(np.array(jax.devices()), ("data",))
out = {}
for name, steps in (("ddpm", 0), ("ddim", 10), ("heun", 5)):
    draw = jax.jit(lambda k, n=name, s=steps: dm.sample(model, params, k, (64, 2), n, s, eta=1.0 if n == "ddim" else 0.0),
                   out_shardings=NamedSharding(mesh, P("data")))
    x = draw(jax.random.key(1))
    out[name] = {"x": np.asarray(x).tolist(), "shards": len(x.sharding.device_set)}
print(json.dumps(out))
"""


def test_samplers_shard_the_batch_over_devices_and_draw_the_same_samples():
    """Every sampler's batch split over 4 (fake CPU) devices gives the samples of one device."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO, timeout

    out = {}
    for devices in (1, 4):
        env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu",
               "PATH": "/usr/bin:/bin"}
        res = subprocess.run([sys.executable, "-c", SHARDED], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=timeout(), check=True)
        out[devices] = json.loads(res.stdout.strip().splitlines()[-1])
    for name in ("ddpm", "ddim", "heun"):
        assert out[4][name]["shards"] == 4
        np.testing.assert_allclose(out[4][name]["x"], out[1][name]["x"], rtol=1e-4, atol=1e-5)
