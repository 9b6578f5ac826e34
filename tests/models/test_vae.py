"""VAE bounds against independent estimates: a numpy Monte-Carlo ELBO and the
exact log p(x) of a 1-D-latent model by quadrature."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate, stats

from jaxgen.models import observations, vae

SHAPE = (2, 2, 1)


def _tiny(latent_dim=1, seed=0):
    obs = observations.bernoulli()
    model = vae.VAE(latent_dim=latent_dim, data_shape=SHAPE, out_channels=1, hidden=(8,), activation="tanh")
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (6, *SHAPE)).astype(np.float32)
    batch = {"x": jnp.asarray(x), "index": jnp.arange(6, dtype=jnp.int32)}
    params = vae.init_params(model, jax.random.key(seed), batch)
    # Scale weights up so the posterior is far from the prior: a loose ELBO.
    params = jax.tree.map(lambda p: 3.0 * p, params)
    return model, obs, params, batch, x


def _decoder_log_lik(model, params, x, z):
    """numpy log p(x | z) for z [n, D] and one image x."""
    logits = np.asarray(model.apply(params, jnp.asarray(z, jnp.float32), method=vae.VAE.decode), np.float64)
    p = 1 / (1 + np.exp(-logits))
    return stats.bernoulli.logpmf(np.broadcast_to(x, p.shape), p).reshape(len(z), -1).sum(-1)


def test_elbo_matches_independent_monte_carlo():
    model, obs, params, batch, x = _tiny(latent_dim=2)
    got = jax.jit(vae.make_bound_fn(model, obs, 1000, 250))(params, batch, jax.random.key(1))["elbo"]
    mean, log_var = (np.asarray(a, np.float64) for a in model.apply(params, batch["x"], method=vae.VAE.encode))
    rng = np.random.default_rng(7)
    for i in range(len(x)):
        std = np.exp(0.5 * log_var[i])
        z = mean[i] + std * rng.standard_normal((20000, 2))
        log_w = (_decoder_log_lik(model, params, x[i], z) + stats.norm.logpdf(z).sum(-1)
                 - stats.norm.logpdf(z, mean[i], std).sum(-1))
        stderr = log_w.std() / math.sqrt(len(log_w))
        assert abs(got[i] - log_w.mean()) < 5 * stderr + 0.05, (i, got[i], log_w.mean(), stderr)


def test_loss_is_negative_elbo_and_differentiable():
    model, obs, params, batch, _ = _tiny(latent_dim=2)
    loss_fn = vae.make_loss_fn(model, obs)
    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch, jax.random.key(3))
    np.testing.assert_allclose(loss, -metrics["elbo"], rtol=1e-6)
    np.testing.assert_allclose(metrics["nll_recon"] + metrics["kl"], loss, rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_loss_noise_does_not_depend_on_batch_split():
    """Per-example keys: two half batches see the noise of the whole batch."""
    model, obs, params, batch, _ = _tiny(latent_dim=2)
    fn = vae.make_bound_fn(model, obs, 8, 4)
    key = jax.random.key(5)
    whole = fn(params, batch, key)["iwae"]
    halves = [fn(params, {k: v[s] for k, v in batch.items()}, key)["iwae"] for s in (slice(0, 3), slice(3, 6))]
    np.testing.assert_allclose(whole, np.concatenate(halves), rtol=1e-6)


def _exact_log_px(model, params, x):
    """log p(x) = log integral p(x|z) N(z; 0, 1) dz (1-D latent) by Simpson's rule on 20,001 points
    of [-10, 10], in float64 from the decoder's logits (one batched call)."""
    z = np.linspace(-10.0, 10.0, 20_001)
    out = []
    for xi in x:
        integrand = np.exp(_decoder_log_lik(model, params, xi, z[:, None]) + stats.norm.logpdf(z))
        out.append(math.log(integrate.simpson(integrand, x=z)))
    return np.asarray(out)


def _mean_bound(model, obs, params, batch, k, seeds=10):
    fn = jax.jit(vae.make_bound_fn(model, obs, k, k))
    runs = [fn(params, batch, jax.random.key(s)) for s in range(seeds)]
    return np.mean([r["iwae"] for r in runs], 0), np.mean([r["elbo"] for r in runs], 0)


def test_iwae_is_a_bound_above_the_elbo_that_tightens_with_k():
    model, obs, params, batch, x = _tiny(latent_dim=1)
    log_px = _exact_log_px(model, params, x)
    bounds = {k: _mean_bound(model, obs, params, batch, k)[0] for k in (1, 10, 100, 1000)}
    elbo = _mean_bound(model, obs, params, batch, 1000)[1]
    assert np.mean(log_px - elbo) > 1.0, "the test needs a loose ELBO to be meaningful"
    assert np.all(bounds[1000] <= log_px + 1e-3)
    assert np.all(bounds[1000] >= elbo)
    means = [bounds[k].mean() for k in (1, 10, 100, 1000)]
    assert means == sorted(means) and len(set(means)) == 4, means
    assert abs(bounds[1].mean() - elbo.mean()) < 0.5  # L_1 is a (noisier) ELBO estimate


def test_iwae_with_prior_proposal_converges_to_exact_log_likelihood():
    model, obs, params, batch, x = _tiny(latent_dim=1)
    # Zero the encoder's output layer: q(z|x) = N(0, 1) = p(z), plain importance sampling.
    enc = params["params"]["encoder_net"]
    last = max(enc)
    enc[last] = jax.tree.map(jnp.zeros_like, enc[last])
    log_px = _exact_log_px(model, params, x)
    iwae, elbo = _mean_bound(model, obs, params, batch, 1000, seeds=5)
    assert np.mean(log_px - elbo) > 0.3
    np.testing.assert_allclose(iwae, log_px, atol=0.05)  # MC noise of 5 runs ~0.03


def test_conv_vae_shapes_and_sampling():
    obs = observations.discretized_logistic(256)
    model = vae.VAE(latent_dim=3, data_shape=(8, 8, 1), out_channels=2, architecture="conv", channels=(4, 8))
    batch = {"x": jnp.zeros((2, 8, 8, 1)), "index": jnp.arange(2, dtype=jnp.int32)}
    params = vae.init_params(model, jax.random.key(0), batch)
    assert model.apply(params, batch["x"]).shape == (2, 8, 8, 2)
    samples = vae.make_sample_fn(model, obs)(params, jax.random.key(1), 5)
    assert samples.shape == (5, 8, 8, 1) and float(samples.min()) >= 0 and float(samples.max()) <= 1


def test_gaussian_observation_model_matches_scipy():
    """Output channels split into (loc, log scale), the log scale clipped to [-7, 5]; log p(x) is
    the sum of per-pixel normal densities (scipy), the mean the loc clipped to [0, 1]."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 4, 4, 1)).astype(np.float32)
    loc, log_scale = rng.normal(0.5, 0.5, size=(3, 4, 4, 1)), rng.uniform(-9, 7, size=(3, 4, 4, 1))
    out = jnp.asarray(np.concatenate([loc, log_scale], -1), jnp.float32)
    obs = observations.gaussian()
    assert obs.params_per_channel == 2
    expected = stats.norm.logpdf(x, loc, np.exp(np.clip(log_scale, -7, 5))).reshape(3, -1).sum(1)
    np.testing.assert_allclose(obs.log_prob(jnp.asarray(x), out), expected, rtol=1e-4)
    np.testing.assert_allclose(obs.mean(out), np.clip(loc, 0, 1), rtol=1e-6, atol=1e-6)
    draws = np.asarray(jax.vmap(lambda k: obs.sample(k, out))(jax.random.split(jax.random.key(0), 2000)))
    assert draws.min() >= 0.0 and draws.max() <= 1.0
    inside = (np.exp(np.clip(log_scale, -7, 5)) < 0.05) & (loc > 0.2) & (loc < 0.8)  # clipping never bites
    np.testing.assert_allclose(draws.mean(0)[inside], loc[inside], atol=0.01)


def test_iwae_objective_is_the_log_mean_exp_of_hand_computed_weights():
    """loss = -mean_b log (1/k) sum_i p(x, z_i) / q(z_i | x), the weights from the same noise in
    NumPy / SciPy."""
    model, obs, params, batch, x = _tiny(latent_dim=2)
    k, key = 6, jax.random.key(4)
    loss, metrics = vae.make_loss_fn(model, obs, iwae_samples=k)(params, batch, key)
    mean, log_var = (np.asarray(a, np.float64) for a in model.apply(params, batch["x"], method=vae.VAE.encode))
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, batch["index"].astype(jnp.uint32))
    bounds = []
    for i in range(len(x)):
        eps = np.asarray(jax.random.normal(jax.random.fold_in(keys[i], 0), (k, 2)), np.float64)
        std = np.exp(0.5 * log_var[i])
        z = mean[i] + std * eps
        log_w = (_decoder_log_lik(model, params, x[i], z) + stats.norm.logpdf(z).sum(-1)
                 - stats.norm.logpdf(z, mean[i], std).sum(-1))
        bounds.append(np.logaddexp.reduce(log_w) - np.log(k))
    np.testing.assert_allclose(float(loss), -np.mean(bounds), rtol=1e-5)
    assert np.isfinite(float(metrics["elbo"]))


def test_conditional_vae_decodes_by_label_and_samples_each_class():
    obs = observations.bernoulli()
    model = vae.VAE(latent_dim=2, data_shape=SHAPE, out_channels=1, hidden=(8,), num_classes=3)
    batch = {"x": jnp.ones((3, *SHAPE)), "label": jnp.arange(3), "index": jnp.arange(3)}
    params = jax.tree.map(lambda p: p + 0.5, vae.init_params(model, jax.random.key(0), batch))
    z = jnp.zeros((3, 2))
    out = model.apply(params, z, jnp.arange(3), method=vae.VAE.decode)
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[1], out[2])  # the label changes p(x | z)
    enc = [model.apply(params, batch["x"][:1], jnp.asarray([c]), method=vae.VAE.encode)[0] for c in range(3)]
    assert not np.allclose(enc[0], enc[1])  # and q(z | x)
    sample = vae.make_sample_fn(model, obs)
    same = sample(params, jax.random.key(1), 3, jnp.asarray([2, 2, 2]))
    np.testing.assert_allclose(same[0], np.asarray(obs.mean(model.apply(
        params, jax.random.normal(jax.random.key(1), (3, 2)), jnp.asarray([2, 2, 2]), method=vae.VAE.decode)))[0])
    loss, _ = vae.make_loss_fn(model, obs)(params, batch, jax.random.key(2))
    assert np.isfinite(loss)


def test_manifold_grid_decodes_normal_quantiles_and_traversals_move_one_dimension():
    from scipy.stats import norm

    from jaxgen.eval import latent

    grid = latent.manifold_grid(lambda z: z, num=5, span=0.9)  # the decoder: identity
    q = norm.ppf(np.linspace(0.05, 0.95, 5))
    np.testing.assert_allclose(grid[:5, 0], q, rtol=1e-5, atol=1e-6)  # first row: z_0 left to right
    np.testing.assert_allclose(grid[::5, 1], q[::-1], rtol=1e-5, atol=1e-6)  # first column: z_1 top to bottom
    code = jnp.asarray([0.5, -1.0, 2.0])
    t = latent.traversal_grid(lambda z: z, code, 2, values=(-1.0, 1.0))
    np.testing.assert_allclose(t, [[-1, -1, 2], [1, -1, 2], [0.5, -1, 2], [0.5, 1, 2]])


def test_conditional_iwae_smoke_run_writes_its_figures(smoke_run):
    workdir, metrics, _ = smoke_run("vae", "smoke_cvae_iwae")
    assert np.isfinite(metrics["test_log_likelihood"])
    assert json.loads((workdir / "likelihood.json").read_text())["conditional"]  # log p(x | y): its own protocol
    for name in ("reconstructions", "traversals", "manifold", "codes", "class_samples"):
        assert (workdir / "figures" / f"{name}.png").exists(), name
