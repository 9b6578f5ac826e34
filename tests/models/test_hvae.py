"""Hierarchical (ladder) VAE: log importance weights against an independent NumPy / SciPy
computation from the paper's definitions, the training ELBO (analytic KLs) against Monte Carlo,
the IWAE bound and objective against a hand-computed log-mean-exp, KL warm-up and free bits,
and a smoke run that reports active units."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from jaxgen.losses import bernoulli_log_prob
from jaxgen.models import hvae, observations

SHAPE = (3, 3, 1)


def _model(skip=True):
    return hvae.LadderVAE((3, 2), ((5,), (4,)), SHAPE, 1, "relu", skip)


def _setup(skip=True, batch=4):
    model = _model(skip)
    x = (jax.random.uniform(jax.random.key(0), (batch, *SHAPE)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1), x[:1])
    # larger random weights than the initialisation, so every term matters
    params = jax.tree.map(lambda a: a + 0.3 * jax.random.normal(jax.random.key(a.size), a.shape), params)
    return model, params, x


def _mlp(p, h):
    n = len(p)
    for i in range(n):
        h = h @ np.asarray(p[f"Dense_{i}"]["kernel"], np.float64) + np.asarray(p[f"Dense_{i}"]["bias"], np.float64)
        if i < n - 1:
            h = np.maximum(h, 0)
    return h


def _dense(p, h):
    return h @ np.asarray(p["kernel"], np.float64) + np.asarray(p["bias"], np.float64)


def _reference_log_w(params, x, eps, skip):
    """log p(x, z) - log q(z | x) for z drawn top-down with noise eps ([B, D_l] per layer), in
    float64 from the Ladder VAE's definitions (Sønderby et al. 2016, eq. 17-19)."""
    p = params["params"]
    d = np.asarray(x, np.float64).reshape(len(x), -1)
    up = []
    for l in range(2):
        d = np.maximum(_mlp(p[f"up_{l}"], d), 0)
        mean, log_var = np.split(_dense(p[f"up_heads_{l}"], d), 2, axis=-1)
        up.append((mean, np.clip(log_var, -12, 8)))
    # top layer: q = the bottom-up Gaussian, p = N(0, I)
    mean_q, var_q = up[1][0], np.exp(up[1][1])
    z1 = mean_q + np.sqrt(var_q) * eps[1]
    log_q = stats.norm.logpdf(z1, mean_q, np.sqrt(var_q)).sum(-1)
    log_p = stats.norm.logpdf(z1).sum(-1)
    # layer 0: p(z0 | z1) from the top-down MLP, q the precision-weighted product with the bottom-up estimate
    mean_p, log_var_p = np.split(_dense(p["down_heads_0"], np.maximum(_mlp(p["down_0"], z1), 0)), 2, axis=-1)
    var_p = np.exp(np.clip(log_var_p, -12, 8))
    var_hat = np.exp(up[0][1])
    var_q = 1 / (1 / var_hat + 1 / var_p)
    mean_q = var_q * (up[0][0] / var_hat + mean_p / var_p)
    z0 = mean_q + np.sqrt(var_q) * eps[0]
    log_q += stats.norm.logpdf(z0, mean_q, np.sqrt(var_q)).sum(-1)
    log_p += stats.norm.logpdf(z0, mean_p, np.sqrt(var_p)).sum(-1)
    logits = _mlp(p["decoder"], np.concatenate([z0, z1], -1) if skip else z0)
    xs = np.asarray(x, np.float64).reshape(len(x), -1)
    log_lik = stats.bernoulli.logpmf(xs, 1 / (1 + np.exp(-logits))).sum(-1)
    return log_lik + log_p - log_q


@pytest.mark.parametrize("skip", [True, False])
def test_log_weights_match_an_independent_computation(skip):
    model, params, x = _setup(skip)
    eps = [jax.random.normal(jax.random.key(10 + l), (1, 4, d)) for l, d in enumerate(model.latent_dims)]
    p = hvae.inference_pass(model, params, x, eps)
    log_lik = bernoulli_log_prob(x, p["out"][0])
    got = np.asarray(log_lik + p["log_p_z"][0] - p["log_q"][0])
    expected = _reference_log_w(params, x, [np.asarray(e[0], np.float64) for e in eps], skip)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_training_elbo_with_analytic_kls_matches_monte_carlo():
    """The loss's ELBO (analytic KL per layer given the z above, one sample) averaged over many
    keys equals the Monte-Carlo mean of log w, within 4 standard errors."""
    model, params, x = _setup()
    obs = observations.bernoulli()
    loss = jax.jit(hvae.make_loss_fn(model, obs))
    batch = {"x": x, "index": jnp.arange(4)}
    elbos = np.array([float(loss(params, batch, jax.random.key(i), 0)[1]["elbo"]) for i in range(400)])
    bound = jax.jit(hvae.make_bound_fn(model, obs, 4000, 1000))(params, batch, jax.random.key(999))
    mc = float(jnp.mean(bound["elbo"]))
    se = elbos.std() / np.sqrt(len(elbos))
    assert abs(elbos.mean() - mc) < 4 * se + 0.02, (elbos.mean(), mc, se)


def test_iwae_bound_and_objective_are_the_log_mean_exp_of_the_weights():
    model, params, x = _setup()
    obs = observations.bernoulli()
    batch = {"x": x, "index": jnp.arange(4)}
    key = jax.random.key(3)
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(4, dtype=jnp.uint32))

    def log_w(j, count):  # the weights of chunk j, by hand from the same noise
        p = hvae.inference_pass(model, params, x, hvae._noise(model, keys, j, count))
        lik = jax.vmap(lambda o: bernoulli_log_prob(x, o))(p["out"])
        return np.asarray(lik + p["log_p_z"] - p["log_q"], np.float64)  # [count, B]

    weights = np.concatenate([log_w(j, 5) for j in range(4)])  # k = 20 in chunks of 5
    bound = hvae.make_bound_fn(model, obs, 20, 5)(params, batch, key)
    np.testing.assert_allclose(bound["iwae"], logsumexp(weights, 0) - np.log(20), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(bound["elbo"], weights.mean(0), rtol=1e-5, atol=1e-4)
    assert np.all(np.asarray(bound["iwae"]) >= np.asarray(bound["elbo"]) - 1e-4)

    loss, _ = hvae.make_loss_fn(model, obs, iwae_samples=7)(params, batch, key, 0)
    w7 = log_w(0, 7)
    np.testing.assert_allclose(float(loss), -np.mean(logsumexp(w7, 0) - np.log(7)), rtol=1e-5)


def test_kl_warmup_and_free_bits():
    model, params, x = _setup()
    obs = observations.bernoulli()
    batch = {"x": x, "index": jnp.arange(4)}
    key = jax.random.key(5)
    _, m = hvae.make_loss_fn(model, obs)(params, batch, key, 0)
    kl = float(m["kl_0"] + m["kl_1"])
    warm, mw = hvae.make_loss_fn(model, obs, warmup_steps=10)(params, batch, key, 4)
    np.testing.assert_allclose(float(warm), float(m["nll_recon"]) + 0.5 * kl, rtol=1e-5)
    assert float(mw["beta"]) == pytest.approx(0.5)
    # free bits: every dimension's batch-mean KL raised to at least lambda
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(4, dtype=jnp.uint32))
    p = hvae.inference_pass(model, params, x, hvae._noise(model, keys, 0, 1))
    lam = 0.7
    floor = sum(float(jnp.sum(jnp.maximum(jnp.mean(k, axis=(0, 1)), lam))) for k in p["kl"])
    fb, _ = hvae.make_loss_fn(model, obs, free_bits=lam)(params, batch, key, 0)
    np.testing.assert_allclose(float(fb), float(m["nll_recon"]) + floor, rtol=1e-5)
    assert floor > kl


def test_smoke_run_reports_bound_and_active_units(smoke_run):
    _, metrics, _ = smoke_run("hvae", "smoke")
    assert np.isfinite(metrics["test_log_likelihood"])
    assert metrics["test_log_likelihood"] >= metrics["test_elbo"] - 1e-3  # IWAE k=8 >= its ELBO
    assert 0 <= metrics["active_units_0"] <= 4 and 0 <= metrics["active_units_1"] <= 2
    assert 0 <= metrics["kl_units_0"] <= 4 and 0 <= metrics["kl_units_1"] <= 2
    assert metrics["test_kl_0"] >= 0 and metrics["test_kl_1"] >= 0
