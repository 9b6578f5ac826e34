"""KL against numerical integration; bounds against numpy."""

import jax.numpy as jnp
import numpy as np
from scipy import integrate, stats

from jaxgen.losses import elbo, gaussian_kl, gaussian_kl_standard_normal, iwae_bound, log_mean_exp


def _kl_quadrature(mq, sq, mp, sp):
    f = lambda z: stats.norm.pdf(z, mq, sq) * (stats.norm.logpdf(z, mq, sq) - stats.norm.logpdf(z, mp, sp))
    return integrate.quad(f, mq - 12 * sq, mq + 12 * sq)[0]


def test_gaussian_kl_matches_quadrature():
    rng = np.random.default_rng(0)
    mq, mp = rng.normal(size=(2, 3))
    lvq, lvp = rng.normal(0, 0.7, (2, 3))
    expected = sum(_kl_quadrature(mq[i], np.exp(lvq[i] / 2), mp[i], np.exp(lvp[i] / 2)) for i in range(3))
    got = gaussian_kl(jnp.asarray(mq), jnp.asarray(lvq), jnp.asarray(mp), jnp.asarray(lvp))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_kl_standard_normal_is_special_case():
    rng = np.random.default_rng(1)
    m, lv = rng.normal(size=(2, 4, 6))
    np.testing.assert_allclose(
        gaussian_kl_standard_normal(jnp.asarray(m), jnp.asarray(lv)),
        gaussian_kl(jnp.asarray(m), jnp.asarray(lv), 0.0, 0.0),
        rtol=1e-5,
    )


def test_iwae_bound_and_log_mean_exp():
    rng = np.random.default_rng(2)
    log_w = rng.normal(-300, 5, (50, 4))  # exp underflows in float64: needs the stable form
    expected = np.log(np.mean(np.exp(log_w - log_w.max(0)), axis=0)) + log_w.max(0)
    np.testing.assert_allclose(iwae_bound(jnp.asarray(log_w)), expected, rtol=1e-6)
    np.testing.assert_allclose(log_mean_exp(jnp.asarray(log_w), axis=0), expected, rtol=1e-6)
    # Jensen: the bound is >= the average log weight (the k=1 ELBO estimate).
    assert np.all(np.asarray(iwae_bound(jnp.asarray(log_w))) >= log_w.mean(0))
    np.testing.assert_allclose(elbo(jnp.asarray(3.0), jnp.asarray(1.0)), 2.0)
