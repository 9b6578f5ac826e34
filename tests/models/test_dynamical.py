"""Dynamical VAEs: VRNN's analytic-KL bound equals the Monte-Carlo estimate of E_q[log p(x, z) -
log q(z | x)] on a tiny model; the Kalman VAE's log p(codes) equals the joint Gaussian of its
state-space model computed directly; smoke runs of the RNN baseline, VRNN and KVAE report their
likelihoods per frame and write their figures."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg, stats

from jaxgen.models import dynamical as dyn

T = 3
X = jnp.array([[[[[1.0], [0.0]], [[0.0], [1.0]]]] * T, [[[[0.0], [0.0]], [[1.0], [1.0]]]] * T])  # [2, T, 2, 2, 1]


def test_vrnn_bound_equals_its_monte_carlo_estimate():
    net = dyn.VRNN(hidden=6, latent=2, feat=4, frame_shape=(2, 2, 1))
    params = net.init(jax.random.key(0), X, jnp.zeros((2, T, 2)))
    params = jax.tree.map(lambda p: 2.0 * p, params)  # a posterior far from the prior: large KLs
    n = 20_000
    eps = jax.random.normal(jax.random.key(1), (n, 2, T, 2))
    log_px, kl, log_w = jax.jit(jax.vmap(lambda e: net.apply(params, X, e)))(eps)
    analytic = np.asarray((log_px - kl).sum(-1), np.float64)  # [n, 2]
    mc = np.asarray(log_w.sum(-1), np.float64)
    for b in range(2):
        se = np.sqrt(mc[:, b].var() / n + analytic[:, b].var() / n)
        assert abs(mc[:, b].mean() - analytic[:, b].mean()) < 4 * se, (mc[:, b].mean(), analytic[:, b].mean(), se)
        assert np.asarray(kl).sum(-1)[:, b].mean() > 0.5  # the check is not trivial
    iwae = jax.scipy.special.logsumexp(mc, axis=0) - np.log(n)
    assert np.all(iwae >= analytic.mean(0))


def test_kvae_log_p_codes_is_the_state_space_marginal():
    net = dyn.KVAE(code=2, state=3, mixtures=1, hidden=4, dynamics_hidden=4, frame_shape=(2, 2, 1))
    eps = jax.random.normal(jax.random.key(2), (2, T, 2))
    params = net.init(jax.random.key(3), X, eps)
    log_px, log_q, log_pa = net.apply(params, X, eps)
    p = params["params"]
    a_mat, c_mat = np.asarray(p["A"][0], np.float64), np.asarray(p["C"][0], np.float64)
    mu0, sigma0 = np.asarray(p["mu0"], np.float64), np.diag(np.exp(2 * np.asarray(p["log_sigma0"], np.float64)))
    q, r = net.transition_noise * np.eye(3), net.emission_noise * np.eye(2)
    # the codes the model drew: encoder mean + std * eps
    enc = net.apply(params, X.reshape(2 * T, -1), method=lambda m, f: dyn._gaussian(m.encoder(f)))
    codes = np.asarray(enc[0] + jnp.exp(enc[1]) * eps.reshape(2 * T, -1), np.float64).reshape(2, T, 2)
    # z_t = A^(t-1) z_1 + sum A^(t-s) w_s: covariance of z_{1:T}, then a = C z + v
    powers = [np.linalg.matrix_power(a_mat, k) for k in range(T)]
    cov_z = np.zeros((3 * T, 3 * T))
    for i in range(T):
        for j in range(T):
            c = powers[i] @ sigma0 @ powers[j].T
            c += sum(powers[i - s] @ q @ powers[j - s].T for s in range(1, min(i, j) + 1))
            cov_z[3 * i:3 * i + 3, 3 * j:3 * j + 3] = c
    mean_z = np.concatenate([powers[i] @ mu0 for i in range(T)])
    c_big = linalg.block_diag(*[c_mat] * T)
    cov_a = c_big @ cov_z @ c_big.T + linalg.block_diag(*[r] * T)
    for b in range(2):
        direct = stats.multivariate_normal(c_big @ mean_z, cov_a).logpdf(codes[b].reshape(-1))
        assert float(log_pa[b].sum()) == pytest.approx(direct, rel=1e-4, abs=1e-3)
    assert log_px.shape == log_q.shape == (2, T)


@pytest.mark.parametrize("module,variant,figures", [("vrnn", "smoke", ("samples",)), ("vrnn", "smoke_rnn", ("samples",)),
                                                    ("kvae", "smoke", ("samples", "imputation"))])
def test_smoke_runs_report_per_frame_likelihoods_and_figures(smoke_run, module, variant, figures):
    workdir, _, _ = smoke_run(module, variant)
    result = json.loads((workdir / "likelihood.json").read_text())
    assert result["kind"] == ("exact" if variant == "smoke_rnn" else "lower_bound")
    assert result["extra"]["log_likelihood_per_frame"] == pytest.approx(result["log_likelihood"] / 16, rel=1e-6)
    assert result["extra"]["elbo"] <= result["log_likelihood"] + 1e-3  # IWAE >= ELBO (equal for the RNN)
    for name in figures:
        assert (workdir / "figures" / f"{name}.png").exists()
