"""The RBM family in the one loop: the CD surrogate's gradient is the CD estimate, and the
AIS log Z it reports matches the exact one of the trained (small) RBM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import overrides
from experiments.configs import rbm as rbm_configs
from jaxgen import rng as rng_lib
from jaxgen.classical.rbm import RBM, exact_log_partition
from jaxgen.families.rbm import make_loss_fn
from jaxgen.train import config_checks
from jaxgen.train.checkpoint import load_latest


def test_surrogate_gradient_is_the_contrastive_divergence_estimate():
    r = np.random.default_rng(0)
    params = {"w": jnp.asarray(r.normal(0, 0.5, (6, 4)), jnp.float32), "a": jnp.zeros(6), "b": jnp.zeros(4),
              "base_a": jnp.zeros(6)}
    batch = {"x": jnp.asarray(r.integers(0, 2, (8, 6)), jnp.float32), "index": jnp.arange(8, dtype=jnp.int32)}
    key = jax.random.key(3)
    grads, _ = jax.grad(make_loss_fn("bernoulli", 2, 0.0), has_aux=True)(params, batch, key)
    # independent: replay the same per-example chains, then the CD statistics by hand
    rbm = RBM(params["w"], params["a"], params["b"])
    keys = rng_lib.example_keys(key, batch["index"])
    v_model = jnp.stack([rbm.gibbs_step(jax.random.fold_in(k, 1), rbm.gibbs_step(jax.random.fold_in(k, 0), v))
                         for k, v in zip(keys, batch["x"])])
    ph_d, ph_m = jax.nn.sigmoid(batch["x"] @ rbm.w), jax.nn.sigmoid(v_model @ rbm.w)
    np.testing.assert_allclose(-grads["w"], (batch["x"].T @ ph_d - v_model.T @ ph_m) / 8, atol=1e-6)
    np.testing.assert_allclose(-grads["a"], jnp.mean(batch["x"] - v_model, 0), atol=1e-6)
    np.testing.assert_allclose(-grads["b"], jnp.mean(ph_d - ph_m, 0), atol=1e-6)
    assert float(jnp.max(jnp.abs(grads["base_a"]))) == 0.0  # the AIS base is not trained


def test_smoke_run_reports_ais_log_z_near_the_exact_value(tmp_path):
    from jaxgen.train.loop import train_and_evaluate

    config = overrides.apply(rbm_configs.get_config("smoke"), {
        "train.num_steps": 60, "model.ais_betas": 2_000, "model.ais_chains": 64, "model.num_hidden": 10})
    results = train_and_evaluate(config, str(tmp_path))
    p = load_latest(str(tmp_path))[0]["params"]
    exact = float(exact_log_partition(RBM(jnp.asarray(p["w"]), jnp.asarray(p["a"]), jnp.asarray(p["b"]))))
    assert abs(results["log_z"] - exact) < 0.1, (results["log_z"], exact)
    np.testing.assert_allclose(results["test_log_likelihood"], results["test_neg_free_energy"] - results["log_z"],
                               rtol=1e-6)
    # the error bar: AIS s.e. and the test images' spread of -F(v), recomputed here by hand
    from jaxgen import data as data_lib

    loaded = data_lib.load(config.data)
    batcher = data_lib.Batcher(loaded.train, loaded.test, 8, config.seed, loaded.scale, config.data.binarize)
    batches = batcher.test_batches(7, config.eval.num_examples)
    v = np.concatenate([np.asarray(b["x"])[b["mask"] > 0].reshape(int(b["mask"].sum()), -1) for b in batches])
    neg_f = -np.asarray(RBM(jnp.asarray(p["w"]), jnp.asarray(p["a"]), jnp.asarray(p["b"])).free_energy(jnp.asarray(v)))
    np.testing.assert_allclose(neg_f.mean(), results["test_neg_free_energy"], rtol=1e-5)
    expected_se = np.sqrt(results["log_z_se"] ** 2 + neg_f.var() / len(neg_f))
    np.testing.assert_allclose(results["test_log_likelihood_se"], expected_se, rtol=1e-3)
    assert (tmp_path / "samples" / "step_0000060.png").exists()


def test_bad_rbm_config_is_named():
    config = overrides.apply(rbm_configs.get_config("smoke"), {"data.binarize": False, "model.visible": "poisson"})
    with pytest.raises(config_checks.ConfigError, match="visible='poisson'"):
        config_checks.check(config, num_devices=1)
