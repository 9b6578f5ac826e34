"""Networks and objectives of the adversarial family: shapes, conditioning,
the pix2pix tasks, the AAE priors, and a smoke run of every `smoke` config."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import aae, pix2pix
from jaxgen.nn import adversarial as nets
from jaxgen.nn.unet import PatchDiscriminator, UNet


@pytest.mark.parametrize("shape,channels", [((28, 28, 1), (256, 128)), ((32, 32, 3), (128, 64, 32))])
@pytest.mark.parametrize("upsample", nets.UPSAMPLES)
def test_dcgan_shapes(shape, channels, upsample):
    g = nets.DCGANGenerator(shape, channels, upsample)
    z = jnp.ones((3, 10))
    v = g.init(jax.random.key(0), z)
    x, _ = g.apply(v, z, mutable=["batch_stats"])
    assert x.shape == (3, *shape) and float(jnp.max(jnp.abs(x))) <= 1.0
    d = nets.Discriminator("conv", channels=(8, 16), norm="batch")
    vd = d.init(jax.random.key(1), x, update_stats=True)
    out, _ = d.apply(vd, x, update_stats=True, mutable=["batch_stats"])
    assert out.shape == (3,)


def test_projection_discriminator_adds_label_embedding_inner_product():
    d = nets.Discriminator("mlp", (4,), num_classes=3, conditioning="projection")
    x, y = jnp.ones((2, 2)), jnp.array([0, 2])
    v = d.init(jax.random.key(0), x, y, update_stats=True)
    base = nets.Discriminator("mlp", (4,))  # same trunk and head, no projection
    out_base = base.apply({"params": {k: v["params"][k] for k in v["params"] if k != "Embed_0"}}, x, update_stats=True)
    h = jax.nn.leaky_relu(x @ v["params"]["_Layer_0"]["Dense_0"]["kernel"] + v["params"]["_Layer_0"]["Dense_0"]["bias"],
                          0.2)
    expected = out_base + jnp.sum(v["params"]["Embed_0"]["embedding"][y] * h, -1)
    np.testing.assert_allclose(d.apply(v, x, y, update_stats=True), expected, rtol=1e-5)


def test_spectral_norm_bounds_each_layer():
    d = nets.Discriminator("mlp", (16,), spectral=True)
    x = jax.random.normal(jax.random.key(0), (4, 8))
    v = d.init(jax.random.key(1), x, update_stats=True)
    for _ in range(30):  # power iteration converges
        _, upd = d.apply(v, x, update_stats=True, mutable=["batch_stats"])
        v = {**v, **upd}
    kernel = v["params"]["_Layer_0"]["Dense_0"]["kernel"]
    sigma = v["batch_stats"]["_Layer_0"]["SpectralNorm_0"]["Dense_0/kernel/sigma"]
    np.testing.assert_allclose(sigma, np.linalg.svd(np.asarray(kernel), compute_uv=False)[0], rtol=1e-3)


def test_unet_and_patch_discriminator_shapes():
    x = jnp.zeros((2, 28, 28, 1))
    g = UNet(1, (8, 16))
    v = g.init(jax.random.key(0), x)
    y, _ = g.apply(v, x, mutable=["batch_stats"])
    assert y.shape == x.shape
    d = PatchDiscriminator((8, 16))
    vd = d.init(jax.random.key(0), x, y)
    out, _ = d.apply(vd, x, y, mutable=["batch_stats"])
    assert out.shape == (2, 7, 7)


def test_inpaint_masks_one_square_per_example():
    x = jnp.zeros((5, 28, 28, 1))
    out = pix2pix.inpaint_input(x, jax.random.key(0), jnp.arange(5), 12)
    masked = np.asarray(out[..., 0] == 0.5)
    assert np.all(masked.sum((1, 2)) == 144)
    for m in masked:  # a solid 12x12 square
        rows, cols = np.nonzero(m)
        assert rows.max() - rows.min() == 11 and cols.max() - cols.min() == 11
    again = pix2pix.inpaint_input(x[2:3], jax.random.key(0), jnp.arange(2, 3), 12)
    np.testing.assert_array_equal(again, out[2:3])  # per-example, layout-independent


def test_sobel_edges_of_a_vertical_step():
    x = jnp.zeros((1, 8, 8, 1)).at[:, :, 4:, :].set(1.0)
    e = np.asarray(pix2pix.sobel_edges(x))[0, 2:6, :, 0]  # away from the zero-padded border rows
    assert np.allclose(e[:, 3:5], e[0, 3]) and e[0, 3] > 0.5  # the two columns beside the step
    assert np.allclose(e[:, :2], 0.0, atol=1e-5) and np.allclose(e[:, 6:7], 0.0, atol=1e-5)
    assert float(np.max(pix2pix.sobel_edges(x))) == 1.0


def test_aae_mixture_prior_follows_labels():
    model = aae.AAE(aae.Autoencoder((4, 4, 1), 2, (8,)), nets.Discriminator("mlp", (8,)), prior="mixture",
                    mixture_std=0.01, label_prior=True)
    labels = jnp.arange(1000) % 10
    z = model.prior_sample(jax.random.key(0), jnp.arange(1000), labels)
    means = aae.mixture_means(10, 2, 4.0)
    nearest = jnp.argmin(jnp.sum((z[:, None] - means[None]) ** 2, -1), -1)
    np.testing.assert_array_equal(nearest, labels)
    np.testing.assert_allclose(jnp.linalg.norm(means, axis=-1), 4.0, rtol=1e-6)


SMOKE = [("gan", f"smoke_{loss}") for loss in ("minimax", "nonsaturating", "wgan", "wgan_gp", "lsgan", "dragan",
                                               "began", "hinge")]
SMOKE += [("dcgan", "smoke"), ("cgan", "smoke"), ("aae", "smoke"), ("pix2pix", "smoke")]


@pytest.mark.parametrize("module,variant", SMOKE)
def test_smoke_config_trains_and_evaluates(smoke_run, module, variant):
    config = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
    workdir, results, _ = smoke_run(module, variant)
    assert results and all(np.isfinite(v) or k == "mode_kl" for k, v in results.items())
    if module in ("dcgan", "cgan"):
        assert (workdir / "figures" / "nearest_neighbours.png").exists()
        assert (workdir / "figures" / "interpolation.png").exists()
    if config.family == "aae":
        assert (workdir / "figures" / "interpolation.png").exists()
    if config.family == "pix2pix":
        assert (workdir / "figures" / "translations.png").exists()


@pytest.mark.parametrize("variant", [v for m, v in SMOKE if m == "gan"])
def test_smoke_run_diagnostics_recomputed_from_its_checkpoint(smoke_run, variant):
    """Every loss's final D outputs on real and generated test-time data and its mode coverage
    (ring8) equal what the restored (EMA) generator and discriminator give here: the latents of
    the final evaluation drawn as documented (eval stream, step, batch number, example index),
    the modes counted from the samples by jaxgen.eval.modes."""
    from jaxgen import data as data_lib
    from jaxgen import rng as rng_lib
    from jaxgen.data import toy
    from jaxgen.eval import modes as modes_lib
    from jaxgen.families import gan as gan_family
    from jaxgen.losses import adversarial as adv
    from jaxgen.train.checkpoint import load_latest
    from jaxgen.train.state import evaluation_params

    config = importlib.import_module("experiments.configs.gan").get_config(variant)
    workdir, results, _ = smoke_run("gan", variant)
    loaded = data_lib.load(config.data)
    model = gan_family.make_model(config, loaded.spec)
    state, _, step = load_latest(str(workdir))
    params = evaluation_params(state["params"], state.get("ema_params"), config.eval.use_ema)
    n, size = min(config.eval.num_examples, len(loaded.test["x"])), config.data.eval_batch_size
    key = rng_lib.stream(jax.random.fold_in(rng_lib.stream(jax.random.key(config.seed), "eval"), step), "diagnostics")
    real_out, fake_out, fakes = [], [], []
    for i, lo in enumerate(range(0, n, size)):
        index = jnp.arange(lo, min(lo + size, n))
        fake, _ = model.generate(params["generator"], rng_lib.example_normal(jax.random.fold_in(key, i), index,
                                                                             (model.latent_dim,)), None)
        real = jnp.asarray(loaded.test["x"][lo:lo + len(index)])
        d_fake, _ = model.discriminate(params["discriminator"], fake, None, None, update_stats=False)
        d_real, _ = model.discriminate(params["discriminator"], real, None, None, update_stats=False)
        if config.model.loss == "began":
            d_fake, d_real = adv.began_energy(fake, d_fake), adv.began_energy(real, d_real)
        real_out.append(np.asarray(d_real)), fake_out.append(np.asarray(d_fake)), fakes.append(np.asarray(fake))
    assert results["d_real"] == pytest.approx(np.concatenate(real_out).mean(), rel=1e-4, abs=1e-6)
    assert results["d_fake"] == pytest.approx(np.concatenate(fake_out).mean(), rel=1e-4, abs=1e-6)
    modes_fn, std = toy.MODES[config.data.name]
    coverage = modes_lib.mode_coverage(np.concatenate(fakes), np.asarray(modes_fn()), std,
                                       min_count=config.eval.mode_min_count)
    assert results["modes_covered"] == coverage["modes_covered"]
    assert results["high_quality_fraction"] == pytest.approx(coverage["high_quality_fraction"], abs=1e-6)
