"""Every loss weight and penalty path inside the adversarial steps, against objectives built by
hand from the models' public pieces: one step's update equals the hand-built gradient (GAN
penalties), and each weight scales exactly the term it names (pix2pix L1, AAE adversarial term,
BEGAN's generator energy)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen import rng as rng_lib
from jaxgen.models import aae, gan, pix2pix
from jaxgen.nn import adversarial as nets
from jaxgen.nn.unet import PatchDiscriminator, UNet
from jaxgen.train import state as state_lib
from jaxgen.train.adversarial import AdversarialStep


def _batch(n=6, shape=(2,), seed=0):
    x = np.random.default_rng(seed).uniform(size=(n, *shape)).astype(np.float32)
    return {"x": jnp.asarray(x), "index": jnp.arange(n, dtype=jnp.int32),
            "label": jnp.arange(n, dtype=jnp.int32) % 3}


def _input_grad_sq(f, x):
    """||d f_i / d x_i||^2 per example for a per-example function f: [B, D] -> [B], one example
    at a time (no batch coupling)."""
    g = jax.vmap(jax.grad(lambda xi: f(xi[None])[0]))(x)
    return jnp.sum(g.reshape(x.shape[0], -1) ** 2, -1)


@pytest.mark.parametrize("penalty,weight", [("none", 0.0), ("r1", 3.0), ("r2", 3.0), ("gp", 2.0)])
def test_one_discriminator_update_follows_the_hand_built_objective(penalty, weight):
    """D' = D - lr * grad of [softplus(-D(x)) + softplus(D(G(z)))] + the penalty: gamma / 2 *
    ||grad D||^2 on real (R1) or generated (R2) data, lambda * (||grad D(x_hat)|| - 1)^2 (GP)."""
    model = gan.GAN(nets.MLPGenerator((2,), (8,)), nets.Discriminator("mlp", (8,)), latent_dim=3,
                    loss="nonsaturating", penalty=penalty, penalty_weight=weight, image=False)
    batch, lr = _batch(), 0.5
    params = model.init(jax.random.key(0), batch)
    step = AdversarialStep(model, optax.sgd(lr), optax.sgd(0.0))
    state = state_lib.create(params, step.init(params), jax.random.key(1), ema=False)
    after, _ = step(state, batch)

    key = rng_lib.stream(jax.random.fold_in(jax.random.key(1), 0), "discriminator")  # the step's D key at step 0
    z = rng_lib.example_normal(rng_lib.stream(key, "z"), batch["index"], (3,))
    fake, _ = model.generate(params["generator"], z, None)
    real = batch["x"]

    def objective(d_params, with_penalty=True):
        d_vars = {**params["discriminator"], "params": d_params}

        def d(x):
            return model.discriminate(d_vars, x, None, None, update_stats=False)[0]

        value = jnp.mean(jax.nn.softplus(-d(real)) + jax.nn.softplus(d(fake)))
        if not with_penalty:
            return value
        if penalty == "r1":
            value += weight / 2 * jnp.mean(_input_grad_sq(d, real))
        elif penalty == "r2":
            value += weight / 2 * jnp.mean(_input_grad_sq(d, fake))
        elif penalty == "gp":
            alpha = rng_lib.example_uniform(rng_lib.stream(key, "alpha"), batch["index"])[:, None]
            x_hat = alpha * real + (1 - alpha) * fake
            value += weight * jnp.mean((jnp.sqrt(_input_grad_sq(d, x_hat)) - 1.0) ** 2)
        return value

    grads = jax.grad(objective)(params["discriminator"]["params"])
    expected = jax.tree.map(lambda p, g: p - lr * g, params["discriminator"]["params"], grads)
    for a, b in zip(jax.tree.leaves(after.params["discriminator"]["params"]), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    if penalty != "none":  # the test can tell: the penalty moves the update
        plain = jax.grad(lambda p: objective(p, False))(params["discriminator"]["params"])
        gap = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(plain)))
        assert gap * lr > 1e-3


def _weight_difference(make, weight_a, weight_b, batch, key):
    """(loss at weight_b - loss at weight_a) of the generator objective, same params."""
    model_a, model_b = make(weight_a), make(weight_b)
    params = model_a.init(jax.random.key(0), batch)
    return float(model_b.g_loss(params, batch, key)[0] - model_a.g_loss(params, batch, key)[0]), model_a, params


def test_pix2pix_l1_weight_scales_the_l1_term_of_the_generator_loss():
    batch = _batch(4, (8, 8, 1))
    key = jax.random.key(3)

    def make(w):
        return pix2pix.Pix2Pix(UNet(1, (4, 8)), PatchDiscriminator((4, 8)), "inpaint", 4, w)

    diff, model, params = _weight_difference(make, 1.0, 101.0, batch, key)
    inp, target = model.make_pair(batch, key)
    fake, _ = model.translate(params["generator"], inp)
    l1 = float(jnp.mean(jnp.abs(target - fake)))  # in model units [-1, 1]
    assert l1 > 0.01
    assert diff == pytest.approx(100.0 * l1, rel=1e-4)


def test_aae_adversarial_weight_scales_the_generator_adversarial_term():
    batch = _batch(5, (6,))
    key = jax.random.key(4)

    def make(w):
        return aae.AAE(aae.Autoencoder((6,), 2, (8,)), nets.Discriminator("mlp", (8,)), adversarial_weight=w)

    diff, model, params = _weight_difference(make, 0.0, 2.5, batch, key)
    codes = model.autoencoder.apply(params["generator"], batch["x"], method=aae.Autoencoder.encode)
    adversarial = float(jnp.mean(jax.nn.softplus(-model.discriminator_output(params, codes, None))))
    assert diff == pytest.approx(2.5 * adversarial, rel=1e-4)


def test_began_generator_loss_is_the_l1_energy_of_its_samples():
    model = gan.GAN(nets.MLPGenerator((2,), (8,)), nets.AutoencoderDiscriminator((2,), "mlp", (8,), code_dim=2), 3,
                    loss="began", image=False)
    batch, key = _batch(), jax.random.key(5)
    params = model.init(jax.random.key(0), batch)
    z = rng_lib.example_normal(rng_lib.stream(key, "z"), batch["index"], (3,))
    fake, _ = model.generate(params["generator"], z, None)
    reconstruction, _ = model.discriminate(params["discriminator"], fake, None, None, update_stats=False)
    expected = float(jnp.mean(jnp.abs(fake - reconstruction)))
    assert float(model.g_loss(params, batch, key)[0]) == pytest.approx(expected, rel=1e-5)
