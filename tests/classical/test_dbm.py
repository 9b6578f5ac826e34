"""Two-layer DBM against brute-force enumeration of every (v, h1, h2)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.special import logsumexp

from jaxgen.classical.dbm import (
    DBM,
    DoubledRBM,
    ais_log_partition,
    exact_log_partition,
    exact_log_prob,
    fit_dbm,
    pretrain_dbm,
)
from jaxgen.classical.rbm import fit_rbm, init_rbm
from jaxgen.sampling.ais import beta_schedule


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), np.float64)


def _dbm(v, h1, h2, seed, scale=1.0):
    r = np.random.default_rng(seed)
    f = lambda *s: jnp.asarray(r.normal(0, scale, s), jnp.float32)
    return DBM(f(v, h1), f(h1, h2), f(v) * 0.5, f(h1) * 0.5, f(h2) * 0.5)


DBM3 = _dbm(4, 3, 2, 0)


def _brute_log_p():
    w1, w2, a, b1, b2 = (np.asarray(t, np.float64) for t in (DBM3.w1, DBM3.w2, DBM3.a, DBM3.b1, DBM3.b2))
    v, h1, h2 = _states(4), _states(3), _states(2)
    neg_e = (v @ a)[:, None, None] + (h1 @ b1)[None, :, None] + (h2 @ b2)[None, None, :] \
        + np.einsum("vi,ij,hj->vh", v, w1, h1)[:, :, None] + np.einsum("hi,ij,gj->hg", h1, w2, h2)[None]
    log_z = logsumexp(neg_e)
    return v, logsumexp(neg_e.reshape(16, -1), 1) - log_z, log_z


def test_partition_and_marginals_match_enumeration():
    v, log_p, log_z = _brute_log_p()
    np.testing.assert_allclose(exact_log_partition(DBM3), log_z, rtol=1e-5)
    np.testing.assert_allclose(exact_log_prob(DBM3, jnp.asarray(v, jnp.float32)), log_p, rtol=1e-5, atol=1e-5)


def test_gibbs_samples_follow_the_exact_marginal():
    _, log_p, _ = _brute_log_p()
    k0, k1 = jax.random.split(jax.random.key(0))
    state = (jax.random.bernoulli(k0, 0.5, (20_000, 4)).astype(jnp.float32), jnp.zeros((20_000, 2)))
    (v, _), _ = jax.lax.scan(lambda s, k: (DBM3.gibbs_step(k, s), None), state, jax.random.split(k1, 60))
    codes = (np.asarray(v).astype(int) * (2 ** np.arange(4)[::-1])).sum(1)
    np.testing.assert_allclose(np.bincount(codes, minlength=16) / 20_000, np.exp(log_p), atol=0.015)


def test_mean_field_is_a_fixed_point_and_its_bound_is_below_log_p():
    v, log_p, log_z = _brute_log_p()
    vj = jnp.asarray(v, jnp.float32)
    mu1, mu2 = DBM3.mean_field(vj, 100)
    np.testing.assert_allclose(mu1, jax.nn.sigmoid(DBM3.h1_logits(vj, mu2)), atol=1e-5)
    np.testing.assert_allclose(mu2, jax.nn.sigmoid(mu1 @ DBM3.w2 + DBM3.b2), atol=1e-5)
    bound = np.asarray(DBM3.elbo(vj, log_z, 100))
    assert np.all(bound <= log_p + 1e-4) and np.all(bound > log_p - 3.0), bound - log_p


def _prototype_data():  # 3 binary prototypes with 5% of the bits flipped
    r = np.random.default_rng(4)
    protos = r.integers(0, 2, (3, 10))
    return jnp.asarray(np.abs(protos[r.integers(0, 3, 1000)] - (r.random((1000, 10)) < 0.05)), jnp.float32)


def _independent_log_lik(data):
    p = jnp.clip(jnp.mean(data, 0), 1e-3, 1 - 1e-3)
    return float(jnp.mean(jnp.sum(data * jnp.log(p) + (1 - data) * jnp.log1p(-p), 1)))


def test_ais_log_partition_within_a_tenth_of_a_nat_of_enumeration():
    dbm = _dbm(30, 10, 12, 7, scale=0.4)
    exact = float(exact_log_partition(dbm))
    res = ais_log_partition(dbm, jax.random.key(0), beta_schedule(2_000, "linear"), 200)
    assert abs(float(res.log_z) - exact) < 0.1, (float(res.log_z), exact, float(res.stderr))
    base = jnp.full((30,), -1.0)  # any base on v gives the same target
    res = ais_log_partition(dbm, jax.random.key(1), beta_schedule(2_000, "linear"), 200, base)
    assert abs(float(res.log_z) - exact) < 0.1, (float(res.log_z), exact)


def test_doubled_module_with_single_weights_is_the_rbm():
    data = _prototype_data()
    start = init_rbm(jax.random.key(3), data, 5)
    kw = {"num_epochs": 2, "batch_size": 50, "k": 2}
    plain = fit_rbm(jax.random.key(0), data, 5, init=start, **kw)
    single = fit_rbm(jax.random.key(0), data, 5, init=DoubledRBM(start.w, start.a, start.b, up=1.0, down=1.0), **kw)
    np.testing.assert_allclose(single.w, plain.w, rtol=1e-5, atol=1e-6)
    doubled = DoubledRBM(start.w, start.a, start.b, up=2.0, down=1.0)
    np.testing.assert_allclose(doubled.hidden_logits(data[:4]), 2 * data[:4] @ start.w + start.b, rtol=1e-5)
    with pytest.raises(ValueError, match="init weights"):
        fit_rbm(jax.random.key(0), data, 6, init=start)


def test_pretraining_gives_a_better_start_than_independent_pixels():
    data = _prototype_data()
    dbm = pretrain_dbm(jax.random.key(0), data, 6, 4, num_epochs=20, batch_size=50, learning_rate=0.1, k=3)
    pretrained = float(jnp.mean(exact_log_prob(dbm, data)))
    assert pretrained > _independent_log_lik(data) + 0.8, (pretrained, _independent_log_lik(data))
    tuned = fit_dbm(jax.random.key(1), data, 6, 4, num_epochs=5, batch_size=50, learning_rate=0.02, init=dbm)
    assert float(jnp.mean(exact_log_prob(tuned, data))) > pretrained - 0.3
    with pytest.raises(ValueError, match="init has weights"):
        fit_dbm(jax.random.key(1), data, 5, 4, init=dbm)


def test_pcd_learning_rate_may_be_a_schedule_of_the_update_count():
    data, kw = _prototype_data(), {"num_epochs": 2, "batch_size": 50}
    start = fit_dbm(jax.random.key(0), data, 6, 4, num_epochs=1, batch_size=50, learning_rate=0.05)
    plain = fit_dbm(jax.random.key(1), data, 6, 4, learning_rate=0.05, init=start, **kw)
    constant = fit_dbm(jax.random.key(1), data, 6, 4, learning_rate=optax.constant_schedule(0.05), init=start, **kw)
    np.testing.assert_allclose(constant.w1, plain.w1, rtol=1e-6, atol=1e-7)
    # decayed to 0 from the first update: no update moves the weights, whatever the momentum
    frozen = fit_dbm(jax.random.key(1), data, 6, 4, learning_rate=optax.linear_schedule(0.0, 0.0, 1), init=start, **kw)
    for got, want in zip(jax.tree.leaves(frozen), jax.tree.leaves(start)):
        np.testing.assert_array_equal(got, want)
    decayed = fit_dbm(jax.random.key(1), data, 6, 4, learning_rate=optax.linear_schedule(0.05, 0.0, 2), init=start, **kw)
    assert 0 < float(jnp.abs(decayed.w1 - start.w1).max()) < float(jnp.abs(plain.w1 - start.w1).max())


def test_pcd_training_raises_the_exact_likelihood():
    data = _prototype_data()
    lls = []
    dbm = fit_dbm(jax.random.key(0), data, 6, 4, num_epochs=10, batch_size=50, learning_rate=0.1,
                  callback=lambda e, m: lls.append(float(jnp.mean(exact_log_prob(m, data)))))
    independent = _independent_log_lik(data)
    final = float(jnp.mean(exact_log_prob(dbm, data)))
    assert final > independent + 0.8 and final > lls[0] + 0.8, (final, independent, lls)
    with pytest.raises(ValueError, match="hidden layer"):
        fit_dbm(jax.random.key(0), data, 0, 4)
