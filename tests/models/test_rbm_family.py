"""The RBM family in the one loop: the CD surrogate's gradient is the CD estimate, and the
AIS log Z it reports matches the exact one of the trained (small) RBM."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import overrides
from experiments.configs import rbm as rbm_configs
from jaxgen import rng as rng_lib
from jaxgen.classical.rbm import RBM, exact_log_partition
from jaxgen.families.rbm import make_loss_fn, make_persistent_loss_fn
from jaxgen.run import checks as config_checks
from jaxgen.train.checkpoint import load_latest
from tests.train.helpers import assert_same_params, launch_args, params_of, run


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


def test_persistent_surrogate_continues_the_chains_and_gives_the_pcd_estimate():
    r = np.random.default_rng(1)
    params = {"w": jnp.asarray(r.normal(0, 0.5, (6, 4)), jnp.float32), "a": jnp.asarray(r.normal(0, 1, 6)),
              "b": jnp.zeros(4), "base_a": jnp.zeros(6)}
    batch = {"x": jnp.asarray(r.integers(0, 2, (8, 6)), jnp.float32), "index": jnp.arange(8, dtype=jnp.int32)}
    chains = jnp.asarray(r.integers(0, 2, (5, 6)), jnp.float32)  # 5 persistent chains, batch of 8
    key = jax.random.key(4)
    grads, (_, new_chains) = jax.grad(make_persistent_loss_fn("bernoulli", 2, 0.0), has_aux=True)(
        params, batch, key, chains)
    # independent: two sweeps of each chain with its own key, then the PCD statistics by hand
    rbm = RBM(params["w"], params["a"], params["b"])
    keys = jax.random.split(key, 5)
    v_model = jnp.stack([rbm.gibbs_step(jax.random.fold_in(k, 1), rbm.gibbs_step(jax.random.fold_in(k, 0), v))
                         for k, v in zip(keys, chains)])
    np.testing.assert_array_equal(new_chains, v_model)  # the carry is where the chains got to
    ph_d, ph_m = jax.nn.sigmoid(batch["x"] @ rbm.w + rbm.b), jax.nn.sigmoid(v_model @ rbm.w + rbm.b)
    np.testing.assert_allclose(-grads["w"], batch["x"].T @ ph_d / 8 - v_model.T @ ph_m / 5, atol=1e-6)
    np.testing.assert_allclose(-grads["a"], jnp.mean(batch["x"], 0) - jnp.mean(v_model, 0), atol=1e-6)


@pytest.mark.slow
def test_pcd_chains_survive_a_resume_and_do_not_depend_on_the_device_count(tmp_path):
    """The chains live in the checkpointed update state: a run resumed from its step-2
    checkpoint ends where an uninterrupted one does; 4 pmap devices give 1 device's result."""
    config = "experiments/configs/rbm.py:smoke_pcd"
    flags = ["--config.train.num_steps=4", "--config.checkpoint.every_steps=2", "--config.checkpoint.keep=5"]
    runs = {"one": (["--config.train.num_devices=1"], 1), "pmap4": (["--config.train.parallel=pmap"], 4)}
    for name, (extra, devices) in runs.items():
        result = run(launch_args(tmp_path / name, *flags, *extra, config=config), devices=devices)
        assert result.returncode == 0, result.stderr[-3000:]
    full = params_of(tmp_path / "one")
    assert_same_params(full, params_of(tmp_path / "pmap4"), atol=2e-5, rtol=2e-5)
    chains = load_latest(str(tmp_path / "one"))[0]["opt_state"]["carry"]
    assert np.asarray(chains).shape == (16, 64) and set(np.unique(chains)) <= {0.0, 1.0}

    shutil.rmtree(tmp_path / "one" / "checkpoints" / "4")  # as if killed after step 2
    (tmp_path / "one" / "final_metrics.json").unlink()
    resumed = run(launch_args(tmp_path / "one", *flags, "--config.train.num_devices=1", config=config))
    assert resumed.returncode == 0 and "Resuming from step" in resumed.stdout, resumed.stderr[-3000:]
    assert_same_params(full, params_of(tmp_path / "one"), atol=1e-6, rtol=1e-6)


def test_smoke_run_reports_ais_log_z_near_the_exact_value(tmp_path):
    from jaxgen.run import train_and_evaluate

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
    expected_se = np.sqrt(results["log_z_se"] ** 2 + neg_f.var(ddof=1) / len(neg_f))
    np.testing.assert_allclose(results["test_log_likelihood_se"], expected_se, rtol=1e-3)
    assert (tmp_path / "samples" / "step_0000060.png").exists()
    # the result carries its protocol: the fixed test binarisation's checksum, kind and estimator
    from jaxgen.data import protocol

    saved = json.loads((tmp_path / "likelihood.json").read_text())
    assert saved["test"]["test_checksum"] == protocol.checksum(v.reshape(-1, 8, 8, 1))
    assert saved["kind"] == "estimate" and saved["settings"]["ais_betas"] == 2_000


def test_bad_rbm_config_is_named():
    config = overrides.apply(rbm_configs.get_config("smoke"), {"data.binarize": False, "model.visible": "poisson"})
    with pytest.raises(config_checks.ConfigError, match="visible='poisson'"):
        config_checks.check(config, num_devices=1)
