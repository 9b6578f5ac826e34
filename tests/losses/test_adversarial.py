"""The GAN loss zoo against its formulas in numpy (float64), extreme logits,
gradient penalties against finite differences, weight clipping, BEGAN control."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.losses import adversarial as adv


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)  # log 1 / (1 + e^-x), stable in float64


def _logits():
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(0, 3, 64), [100.0, -100.0, 100.0, -100.0]])
    fake = np.concatenate([rng.normal(0, 3, 64), [100.0, -100.0, -100.0, 100.0]])
    return real, fake


# name -> (jax fn of (real, fake) for D or (fake,) for G, numpy formula)
D_CASES = {
    # -log D(x) - log(1 - D(G(z))), with log(1 - sigmoid(f)) = log sigmoid(-f)
    "minimax": (adv.minimax_d_loss, lambda r, f: -_log_sigmoid(r) - _log_sigmoid(-f)),
    "wgan": (adv.wgan_d_loss, lambda r, f: f - r),
    "lsgan": (lambda r, f: adv.lsgan_d_loss(r, f, -1.0, 1.0), lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * (f + 1) ** 2),
    "hinge": (adv.hinge_d_loss, lambda r, f: np.maximum(0, 1 - r) + np.maximum(0, 1 + f)),
}
G_CASES = {
    "minimax": (adv.minimax_g_loss, lambda f: _log_sigmoid(-f)),  # log(1 - D(G(z)))
    "nonsaturating": (adv.nonsaturating_g_loss, lambda f: -_log_sigmoid(f)),
    "wgan": (adv.wgan_g_loss, lambda f: -f),
    "lsgan": (lambda f: adv.lsgan_g_loss(f, 0.0), lambda f: 0.5 * f**2),
    "hinge": (adv.hinge_g_loss, lambda f: -f),
}


@pytest.mark.parametrize("name", sorted(D_CASES))
def test_discriminator_losses_match_formula(name):
    fn, formula = D_CASES[name]
    real, fake = _logits()
    got = jax.jit(fn)(jnp.asarray(real, jnp.float32), jnp.asarray(fake, jnp.float32))
    assert got.shape == real.shape  # per-example, unreduced
    np.testing.assert_allclose(got, formula(real, fake), rtol=1e-5, atol=1e-4)
    grads = jax.grad(lambda r, f: jnp.sum(fn(r, f)), argnums=(0, 1))(jnp.asarray(real), jnp.asarray(fake))
    assert all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("name", sorted(G_CASES))
def test_generator_losses_match_formula(name):
    fn, formula = G_CASES[name]
    _, fake = _logits()
    got = jax.jit(fn)(jnp.asarray(fake, jnp.float32))
    np.testing.assert_allclose(got, formula(fake), rtol=1e-5, atol=1e-4)
    assert np.all(np.isfinite(jax.grad(lambda f: jnp.sum(fn(f)))(jnp.asarray(fake))))


def test_saturation_is_where_the_lecture_says():
    # At a confidently rejected sample (logit -10) the minimax generator gradient
    # vanishes (~ sigmoid(-10)) while the non-saturating one is ~ -1.
    f = jnp.asarray(-10.0)
    assert abs(jax.grad(adv.minimax_g_loss)(f)) < 1e-4
    np.testing.assert_allclose(jax.grad(adv.nonsaturating_g_loss)(f), -1.0, atol=1e-4)
    # Same fixed point direction: both push the logit up.
    assert jax.grad(adv.minimax_g_loss)(f) < 0


def test_loss_tables_cover_the_zoo():
    assert set(adv.D_LOSSES) == set(adv.G_LOSSES) == {"minimax", "nonsaturating", "wgan", "lsgan", "hinge"}


# --- penalties vs finite differences on a tiny critic ------------------------------

W = np.random.default_rng(1).normal(size=(3, 5))
V = np.random.default_rng(2).normal(size=5)


def _critic_np(x):  # [B, 3] -> [B]
    return np.tanh(x @ W) @ V


def _critic(x):
    return jnp.tanh(x @ jnp.asarray(W, x.dtype)) @ jnp.asarray(V, x.dtype)


def _fd_grad(x, eps=1e-6):
    """Central differences of the per-example critic, float64: [B, 3]."""
    g = np.zeros_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = eps
        g[:, j] = (_critic_np(x + e) - _critic_np(x - e)) / (2 * eps)
    return g


def _points():
    rng = np.random.default_rng(3)
    return rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.uniform(size=6)


def test_gradient_penalty_matches_finite_differences():
    real, fake, alpha = _points()
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    expected = (np.linalg.norm(_fd_grad(x_hat), axis=1) - 1.0) ** 2
    got = adv.gradient_penalty(_critic, jnp.asarray(real), jnp.asarray(fake), jnp.asarray(alpha))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_dragan_penalty_matches_finite_differences():
    real, delta, alpha = _points()
    x_hat = real + alpha[:, None] * delta
    expected = (np.linalg.norm(_fd_grad(x_hat), axis=1) - 1.0) ** 2
    got = adv.dragan_penalty(_critic, jnp.asarray(real), jnp.asarray(delta), jnp.asarray(alpha))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_r1_r2_match_finite_differences():
    real, fake, _ = _points()
    np.testing.assert_allclose(adv.r1_penalty(_critic, jnp.asarray(real)), np.sum(_fd_grad(real) ** 2, 1), rtol=1e-4)
    np.testing.assert_allclose(adv.r2_penalty(_critic, jnp.asarray(fake)), np.sum(_fd_grad(fake) ** 2, 1), rtol=1e-4)


def test_penalty_has_finite_gradient_where_the_input_gradient_is_zero():
    # A critic flat in x: ||grad|| = 0, where a plain sqrt has an infinite derivative.
    def flat(params):
        critic = lambda x: params * jnp.zeros(x.shape[0])
        return jnp.sum(adv.gradient_penalty(critic, jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.full(2, 0.5)))

    value, grad = jax.value_and_grad(flat)(1.0)
    np.testing.assert_allclose(value, 2.0, atol=1e-5)
    assert np.isfinite(grad)


def test_clip_weights_keeps_params_in_range():
    params = {"w": jnp.array([0.0, 0.009, -0.02, 0.5])}
    tx = optax.chain(optax.sgd(1.0), adv.clip_weights(0.01))
    grads = {"w": jnp.array([-0.005, -0.005, 0.0, 0.0])}
    updates, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["w"], [0.005, 0.01, -0.01, 0.01], atol=1e-7)
    with pytest.raises(ValueError, match="limit=0"):
        adv.clip_weights(0.0)


# --- BEGAN ------------------------------------------------------------------------


def test_began_energy_and_losses():
    rng = np.random.default_rng(4)
    x, rec = rng.normal(size=(2, 5, 4, 4, 1))
    e = adv.began_energy(jnp.asarray(x), jnp.asarray(rec))
    np.testing.assert_allclose(e, np.abs(x - rec).reshape(5, -1).mean(1), rtol=1e-6)
    np.testing.assert_allclose(adv.began_d_loss(e, 2 * e, jnp.asarray(0.25)), e - 0.5 * e, rtol=1e-6)
    np.testing.assert_allclose(adv.began_convergence(1.0, 0.2, 0.5), 1.0 + 0.3, rtol=1e-6)
    # k_t gets no gradient through the discriminator loss.
    assert jax.grad(lambda k: jnp.sum(adv.began_d_loss(e, e, k)))(0.3) == 0.0


def test_began_k_stays_in_unit_interval():
    rng = np.random.default_rng(5)
    k = jnp.asarray(0.0)
    for real, fake in rng.exponential(scale=50.0, size=(200, 2)):
        k = adv.began_k_update(k, real, fake, gamma=0.5, lambda_k=0.1)
        assert 0.0 <= float(k) <= 1.0
    # The update is the proportional law inside the interval.
    np.testing.assert_allclose(adv.began_k_update(0.5, 1.0, 0.3, 0.5, 0.01), 0.5 + 0.01 * (0.5 - 0.3), rtol=1e-6)
