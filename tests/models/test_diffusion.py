"""The diffusion model: its variational bound against a Monte-Carlo ELBO over whole forward
chains (computed here from Ho et al.'s formulas), classifier-free guidance's limits, the U-Net's
shapes, config errors and smoke runs of the family."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from experiments.configs import ddpm as ddpm_config
from jaxgen.losses.schedules import make_schedule
from jaxgen.models import diffusion as dm
from jaxgen.nn.denoisers import UNetDenoiser
from jaxgen.run import checks

T, BINS = 4, 4


class TinyNet(nn.Module):
    """x [B, 2, 2, 1], t [B] -> [B, 2, 2, out]: a dense map of (x, t), non-zero from the start."""

    out: int = 1
    num_classes: int = 0

    @nn.compact
    def __call__(self, x, t, labels=None, train=False):
        h = jnp.concatenate([x.reshape(x.shape[0], -1), t[:, None]], -1)
        if self.num_classes:
            h = h + nn.Embed(self.num_classes + 1, h.shape[-1])(labels)
        h = nn.tanh(nn.Dense(16, kernel_init=nn.initializers.normal(1.0))(h))
        y = nn.Dense(4 * self.out, kernel_init=nn.initializers.normal(0.5))(h)
        return y.reshape(x.shape[0], 2, 2, self.out)


def _model(learned: bool):
    net = TinyNet(2 if learned else 1)
    model = dm.Diffusion(net, make_schedule("cosine", T), learned_variance=learned, clip=False)
    levels = jnp.array([[0, 1], [2, 3]], jnp.float32).reshape(1, 2, 2, 1) / (BINS - 1)
    params = net.init(jax.random.key(0), levels, jnp.ones((1,)))
    return model, params, levels


def _mc_elbo(model, params, levels, n: int, key) -> tuple[float, float]:
    """E_q[log p(x_{0:T}) - log q(x_{1:T} | x_0)] over n forward chains x_i = sqrt(1 - b_i) x_{i-1}
    + sqrt(b_i) e (not the marginals the bound uses), with Ho et al.'s mean
    1 / sqrt(a_i) (x_i - b_i / sqrt(1 - ab_i) eps_hat) and scipy's normal log-densities."""
    ab = np.asarray(model.schedule.alpha_bar_table, np.float64)
    beta = 1 - ab[1:] / ab[:-1]
    x0 = np.repeat(2 * np.asarray(levels, np.float64) - 1, n, axis=0)  # [n, 2, 2, 1]
    noise = np.asarray(jax.random.normal(key, (T, *x0.shape)), np.float64)
    xs = [x0]
    for i in range(1, T + 1):
        xs.append(np.sqrt(1 - beta[i - 1]) * xs[-1] + np.sqrt(beta[i - 1]) * noise[i - 1])
    log_q = sum(stats.norm.logpdf(xs[i], np.sqrt(1 - beta[i - 1]) * xs[i - 1], np.sqrt(beta[i - 1])).sum((1, 2, 3))
                for i in range(1, T + 1))
    log_p = stats.norm.logpdf(xs[T]).sum((1, 2, 3))
    for i in range(T, 0, -1):
        out = np.asarray(model.net.apply(params, jnp.asarray(xs[i], jnp.float32), jnp.full((n,), i / T)), np.float64)
        eps_hat = out[..., :1]
        mean = (xs[i] - beta[i - 1] / np.sqrt(1 - ab[i]) * eps_hat) / np.sqrt(1 - beta[i - 1])
        tilde = (1 - ab[max(i, 2) - 1]) / (1 - ab[max(i, 2)]) * beta[max(i, 2) - 1]  # beta-tilde, step 1 clipped to 2
        if model.learned_variance:
            u = (np.tanh(out[..., 1:]) + 1) / 2
            sd = np.exp(0.5 * (u * np.log(beta[i - 1]) + (1 - u) * np.log(tilde)))
        else:
            sd = np.sqrt(tilde)
        if i > 1:
            log_p = log_p + stats.norm.logpdf(xs[i - 1], mean, sd).sum((1, 2, 3))
        else:  # the decoder: the Gaussian's mass on each level's bin of [-1, 1], the outer bins open
            k = np.round((x0 + 1) / 2 * (BINS - 1))
            half = 1.0 / (BINS - 1)
            hi = np.where(k == BINS - 1, np.inf, x0 + half)
            lo = np.where(k == 0, -np.inf, x0 - half)
            log_p = log_p + np.log(stats.norm.cdf(hi, mean, sd) - stats.norm.cdf(lo, mean, sd)).sum((1, 2, 3))
    w = log_p - log_q
    return float(w.mean()), float(w.std() / math.sqrt(n))


@pytest.mark.parametrize("learned", [False, True])
def test_variational_bound_equals_a_monte_carlo_elbo_over_forward_chains(learned):
    model, params, levels = _model(learned)
    mc, mc_se = _mc_elbo(model, params, levels, 40_000, jax.random.key(1))
    n = 4_000
    batch = {"x": jnp.repeat(levels, n, 0), "index": jnp.arange(n)}
    for terms in (T, 2):  # every step term, and an unbiased estimate from 2 of the 4
        out = jax.jit(dm.make_nll_fn(model, BINS, terms))(params, batch, jax.random.key(2))
        lp = np.asarray(out["log_prob"], np.float64)
        se = lp.std() / math.sqrt(n)
        assert abs(lp.mean() - mc) < 4 * math.hypot(se, mc_se), (terms, lp.mean(), se, mc, mc_se)
        assert np.all(lp < 0)


def test_guidance_weight_zero_is_the_conditional_model_and_minus_one_the_unconditional():
    net = TinyNet(1, num_classes=3)
    model = dm.Diffusion(net, make_schedule("cosine", 10), num_classes=3, clip=False)
    x = jax.random.normal(jax.random.key(0), (6, 2, 2, 1))
    t = jnp.full((6,), 0.5)
    labels = jnp.arange(6) % 3
    params = net.init(jax.random.key(1), x, t, labels)
    plain = dm.make_denoiser(model, params, labels, 0.0)(x, t)
    null = dm.make_denoiser(model, params, jnp.full_like(labels, 3), 0.0)(x, t)
    np.testing.assert_allclose(np.asarray(dm.make_denoiser(model, params, labels, -1.0)(x, t)[1]), np.asarray(null[1]),
                               atol=1e-5)
    guided = dm.make_denoiser(model, params, labels, 2.0)(x, t)[1]
    np.testing.assert_allclose(np.asarray(guided), np.asarray(3 * plain[1] - 2 * null[1]), atol=1e-5)
    assert not np.allclose(np.asarray(plain[1]), np.asarray(null[1]))
    with pytest.raises(ValueError, match="guidance weight 2.0"):
        dm.make_denoiser(dm.Diffusion(TinyNet(), model.schedule), params, None, 2.0)


def test_unet_keeps_the_shape_and_starts_at_zero():
    net = UNetDenoiser(8, (1, 2, 2), 1, (7,), out_multiplier=2, num_classes=10)
    x = jnp.ones((2, 28, 28, 1))
    params = net.init(jax.random.key(0), x, jnp.ones((2,)), jnp.array([0, 10]))
    out = net.apply(params, x, jnp.ones((2,)), jnp.array([0, 10]))
    assert out.shape == (2, 28, 28, 2) and float(jnp.abs(out).max()) == 0.0  # zero-initialised head


def test_ddpm_configs_refuse_bad_values_before_anything_runs():
    c = ddpm_config.get_config("smoke")
    c.model.sampler, c.model.prediction, c.model.sampler_steps = "euler", "score", 500
    with pytest.raises(checks.ConfigError) as err:
        checks.check(c, num_devices=1)
    assert all(s in str(err.value) for s in ("sampler='euler'", "prediction='score'")), err.value
    c = ddpm_config.get_config("smoke")
    c.model.schedule, c.model.sampler = "continuous_cosine", "ddim"
    with pytest.raises(checks.ConfigError, match="continuous"):
        checks.check(c, num_devices=1)
    c = ddpm_config.get_config("smoke")
    c.model.guidance = 1.0
    with pytest.raises(checks.ConfigError, match="guidance=1.0"):
        checks.check(c, num_devices=1)


# smoke_cond covers the image path (learned variances, guidance, every sampler); `smoke` adds only compile time
@pytest.mark.parametrize("variant,figures", [("smoke_cond", ("samplers", "guidance")), ("smoke_2d", ())])
def test_smoke_runs_report_their_bound_and_figures(smoke_run, variant, figures):
    workdir, metrics, _ = smoke_run("ddpm", variant)
    assert np.isfinite(metrics["test_log_likelihood"]) and metrics["test_log_likelihood"] < 0
    for name in figures:
        assert (workdir / "figures" / f"{name}.png").exists()


def test_continuous_time_bound_of_the_exact_denoiser_is_the_gaussian_log_density():
    """With the exact eps-predictor of Gaussian data N(m, s^2 I), Kingma et al.'s continuous-time
    bound is tight up to its endpoint terms (sigma_0 ~ e^-5, alpha_1 ~ e^-5): its estimate
    must equal log N(x; m, s^2 I) within Monte-Carlo error."""


    from jaxgen.losses import schedules as sch

    m, sd = np.array([0.3, -0.5]), np.array([0.7, 0.4])
    for kind in ("continuous_cosine", "continuous_linear"):
        schedule = sch.make_schedule(kind, log_snr_max=10.0, log_snr_min=-10.0)

        class Exact(nn.Module):
            schedule: sch.Schedule

            @nn.compact
            def __call__(self, x_t, t, labels=None, train=False):
                self.param("unused", nn.initializers.zeros, ())
                alpha, sigma = (v[:, None] for v in self.schedule.alpha_sigma(t))
                # E[eps | x_t] for x_0 ~ N(m, sd^2): (x_t - alpha m) sigma / (alpha^2 sd^2 + sigma^2)
                return (x_t - alpha * m) * sigma / (alpha**2 * sd**2 + sigma**2)

        model = dm.Diffusion(Exact(schedule), schedule, "eps", "eps", False, 1e-3, 0, 0.0, image=False)
        params = model.net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.ones((1,)))
        x = jnp.asarray([[0.1, -0.2], [1.5, 0.4], [-0.9, -1.1]], jnp.float32)
        copies = 1500  # independent estimates of each point's bound, averaged
        fn = jax.jit(dm.make_continuous_nll_fn(model, None, 1000))
        out = fn(params, {"x": jnp.tile(x, (copies, 1)), "index": jnp.arange(3 * copies)}, jax.random.key(0))
        values = np.asarray(out["log_prob"]).reshape(copies, 3)
        est, se = values.mean(0), values.std(0) / np.sqrt(copies)
        exact = stats.norm(m, sd).logpdf(np.asarray(x)).sum(-1)
        assert se.max() < 0.05  # the check has teeth
        np.testing.assert_allclose(est, exact, atol=4 * se.max() + 0.02)
