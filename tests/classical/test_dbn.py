"""Deep belief networks against exact enumeration of a tiny two-layer DBN."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, logsumexp

from jaxgen.classical.dbn import DBN, fit_dbn
from jaxgen.classical.rbm import RBM, exact_log_partition


def _rbm(v, h, seed):
    r = np.random.default_rng(seed)
    return RBM(jnp.asarray(r.normal(0, 1.5, (v, h)), jnp.float32), jnp.asarray(r.normal(0, 0.5, v), jnp.float32),
               jnp.asarray(r.normal(0, 0.5, h), jnp.float32))


DBN2 = DBN((_rbm(4, 3, 0), _rbm(3, 2, 1)))


def _exact_log_p():
    """log p(v) for all 16 v: sum_h1 p(h1) p(v | h1), p(h1) the top RBM's visible marginal."""
    bottom, top = DBN2.layers
    h1 = np.array(list(itertools.product([0, 1], repeat=3)), np.float64)
    h2 = np.array(list(itertools.product([0, 1], repeat=2)), np.float64)
    wt, at, bt = (np.asarray(t, np.float64) for t in (top.w, top.a, top.b))
    log_p_h1 = logsumexp(h1 @ at[:, None] + (h2 @ bt)[None] + h1 @ wt @ h2.T, 1)
    log_p_h1 -= logsumexp(log_p_h1)
    v = np.array(list(itertools.product([0, 1], repeat=4)), np.float64)
    p_on = expit(np.asarray(bottom.a, np.float64) + h1 @ np.asarray(bottom.w, np.float64).T)  # [8, 4]
    log_p_v_h1 = v @ np.log(p_on).T + (1 - v) @ np.log1p(-p_on).T  # [16, 8]
    return v, logsumexp(log_p_v_h1 + log_p_h1[None], 1)


def test_samples_follow_the_exact_distribution():
    _, log_p = _exact_log_p()
    s = np.asarray(DBN2.sample(jax.random.key(0), 20_000, num_steps=50, mean_last=False))
    codes = (s.astype(int) * (2 ** np.arange(4)[::-1])).sum(1)
    np.testing.assert_allclose(np.bincount(codes, minlength=16) / 20_000, np.exp(log_p), atol=0.015)


def test_variational_bound_is_below_and_near_the_exact_log_likelihood():
    v, log_p = _exact_log_p()
    log_z = exact_log_partition(DBN2.layers[1])
    bound = np.asarray(DBN2.lower_bound(jax.random.key(1), jnp.asarray(v, jnp.float32), log_z, 4000))
    assert np.all(bound <= log_p + 0.05), bound - log_p
    assert np.all(bound >= log_p - 2.0), bound - log_p
    with pytest.raises(ValueError, match="two-layer"):
        DBN(DBN2.layers[:1]).lower_bound(jax.random.key(0), jnp.zeros((1, 4)), 0.0)


def test_greedy_training_stacks_layers_on_the_probabilities_below():
    r = np.random.default_rng(0)
    protos = r.integers(0, 2, (3, 12))
    data = jnp.asarray(np.abs(protos[r.integers(0, 3, 600)] - (r.random((600, 12)) < 0.05)), jnp.float32)
    seen = []
    dbn = fit_dbn(jax.random.key(0), data, (8, 4), num_epochs=2, batch_size=50, learning_rate=0.1,
                  callback=lambda layer, epoch, rbm, err: seen.append((layer, epoch)))
    assert [r.w.shape for r in dbn.layers] == [(12, 8), (8, 4)]
    assert seen == [(i, e) for i in range(2) for e in range(2)]
    assert dbn.up(data).shape == (600, 4) and dbn.sample(jax.random.key(1), 5, 20).shape == (5, 12)
    with pytest.raises(ValueError, match="hidden"):
        fit_dbn(jax.random.key(0), data, ())
