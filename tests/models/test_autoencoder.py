"""Autoencoder / denoising autoencoder: corruptions with the stated statistics, the loss as the
clean image's negative log-likelihood from the corrupted input, the densities fitted to codes,
smoke runs with their figures."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgen.families.autoencoder import code_densities
from jaxgen.models import autoencoder as ae
from jaxgen.models import observations


def test_corruptions_have_the_stated_statistics():
    x = jnp.full((200, 8, 8, 1), 0.5)
    key, index = jax.random.key(0), jnp.arange(200)
    masked = np.asarray(ae.corrupt_batch(key, index, x, "masking", 0.3))
    assert set(np.unique(masked)) == {0.0, 0.5}
    assert np.mean(masked == 0) == pytest.approx(0.3, abs=0.02)
    sp = np.asarray(ae.corrupt_batch(key, index, x, "salt_and_pepper", 0.2))
    assert np.mean(sp != 0.5) == pytest.approx(0.2, abs=0.02)
    assert np.mean(sp == 1.0) == pytest.approx(0.1, abs=0.015) and set(np.unique(sp)) == {0.0, 0.5, 1.0}
    noisy = np.asarray(ae.corrupt_batch(key, index, x, "gaussian", 0.5)) - 0.5
    assert stats.kstest(noisy.ravel() / 0.5, "norm").pvalue > 1e-3
    np.testing.assert_array_equal(ae.corrupt_batch(key, index, x, "none", 0.3), x)
    # per-example noise: the same example gets the same corruption in any batch
    half = ae.corrupt_batch(key, index[100:], x[100:], "masking", 0.3)
    np.testing.assert_array_equal(half, masked[100:])


def test_denoising_loss_is_the_clean_images_nll_from_the_corrupted_input():
    obs = observations.bernoulli()
    model = ae.Autoencoder(3, (4, 4, 1), 1, hidden=(8,))
    x = (jax.random.uniform(jax.random.key(1), (5, 4, 4, 1)) < 0.5).astype(jnp.float32)
    batch = {"x": x, "index": jnp.arange(5)}
    params = model.init(jax.random.key(2), x[:1])
    key = jax.random.key(3)
    loss, _ = ae.make_loss_fn(model, obs, "masking", 0.5)(params, batch, key)
    from jaxgen import rng as rng_lib

    noisy = ae.corrupt_batch(rng_lib.stream(key, "corruption"), batch["index"], x, "masking", 0.5)
    assert not np.array_equal(noisy, x)
    logits = np.asarray(model.apply(params, noisy), np.float64)
    expected = -stats.bernoulli.logpmf(np.asarray(x), 1 / (1 + np.exp(-logits))).reshape(5, -1).sum(1).mean()
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_gaussian_on_codes_is_the_maximum_likelihood_fit():
    rng = np.random.default_rng(0)
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], [[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]], 4000)
    samplers = code_densities(jax.random.key(0), codes.astype(np.float32), components=2)
    draws = np.asarray(samplers["gaussian"](jax.random.key(1), 100_000), np.float64)
    np.testing.assert_allclose(draws.mean(0), codes.mean(0), atol=0.03)
    np.testing.assert_allclose(np.cov(draws.T), np.cov(codes.T), atol=0.04)
    gmm = np.asarray(samplers["gmm"](jax.random.key(2), 50_000), np.float64)
    np.testing.assert_allclose(gmm.mean(0), codes.mean(0), atol=0.05)
    assert samplers["random"](jax.random.key(3), 7).shape == (7, 3)


@pytest.mark.parametrize("module", ["ae", "dae"])
def test_smoke_run_writes_reconstructions_and_code_density_figures(smoke_run, module):
    workdir, metrics, _ = smoke_run(module, "smoke")
    assert np.isfinite(metrics["recon_nll"]) and "test_log_likelihood" not in metrics
    assert ("denoise_nll" in metrics) == (module == "dae")
    for name in ("reconstructions", "code_densities"):
        assert (workdir / "figures" / f"{name}.png").exists()


def test_ae_codes_study_scores_every_row_beside_the_vae(smoke_run, tmp_path):
    from experiments.benchmarks import ae_codes

    runs = {m: str(smoke_run(m, "smoke").workdir) for m in ("ae", "vae", "classifier")}
    ae_codes.main(["--ae", runs["ae"], "--vae", runs["vae"], "--feature_net", runs["classifier"],
                   "--out", str(tmp_path), "--num", "40"])
    rows = json.loads((tmp_path / "ae_codes.json").read_text())
    assert [r["samples"] for r in rows] == [f"AE decoder, {d} codes" for d in ("random", "gaussian", "gmm")] + ["VAE"]
    assert all(np.isfinite(r["fid"]) and 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in rows)
    assert (tmp_path / "ae_codes.png").exists() and (tmp_path / "ae_codes.md").read_text().count("\n") == 6
