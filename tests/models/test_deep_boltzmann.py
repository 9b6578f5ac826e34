"""DBN and DBM as stepped runs with phases: the phase mechanics on a quadratic (closed form),
exact resume from inside a phase and at a phase boundary, log Z against enumeration, bad
values named before any work."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import overrides
from experiments.configs import dbm as dbm_configs
from experiments.configs import dbn as dbn_configs
from jaxgen.classical.dbm import exact_log_partition as dbm_exact_log_partition
from jaxgen.classical.rbm import exact_log_partition
from jaxgen.families.dbm import dbm_of
from jaxgen.families.dbn import rbm_of
from jaxgen.run import checks, train_and_evaluate
from jaxgen.train import state as state_lib
from jaxgen.train.checkpoint import load_latest
from jaxgen.train.phases import Phase, PhasedStep
from tests.train.helpers import assert_same_params


def test_phases_run_in_order_and_train_only_their_part():
    """Phase 0 (2 steps) descends f = a^2 in a, phase 1 (3 steps) descends b^2 in b, each with
    its own SGD: a_{t+1} = (1 - 2 lr) a_t, so a = 0.8^2 a_0 and b = 0.9^3 b_0 at the end."""
    def update(name):
        def fn(params, batch, key, carry, first):
            grad = {k: jnp.where(k == name, 2.0 * v, 0.0) for k, v in params.items()}
            return params, grad, {"loss": params[name] ** 2}, carry + first.astype(jnp.int32)
        return fn

    step = PhasedStep((Phase("a", 2, update("a"), optax.sgd(0.1), lambda p: jnp.int32(0)),
                       Phase("b", 3, update("b"), optax.sgd(0.05), lambda p: jnp.int32(0))))
    params = {"a": jnp.float32(1.0), "b": jnp.float32(1.0)}
    state = state_lib.create(params, step.init(params), jax.random.key(0), ema=False)
    phases = []
    for _ in range(step.num_steps):
        state, metrics = jax.jit(step)(state, {})
        phases.append(int(metrics["phase"]))
    assert phases == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(float(state.params["a"]), 0.8**2, rtol=1e-6)
    np.testing.assert_allclose(float(state.params["b"]), 0.9**3, rtol=1e-6)
    assert [int(c) for c in state.opt_state["carry"]] == [1, 1]  # each phase saw exactly one first step


def _resume_from(workdir, keep_step: int):
    """Remove every checkpoint after `keep_step` and the final metrics, as a run killed there."""
    for path in (workdir / "checkpoints").iterdir():
        if path.name.isdigit() and int(path.name) > keep_step:
            shutil.rmtree(path)
    (workdir / "final_metrics.json").unlink()


@pytest.mark.parametrize("module,keep_steps", [(dbn_configs, (4,)), (dbm_configs, (6,))])
def test_killed_inside_a_phase_resumes_exactly(module, keep_steps, tmp_path):
    """DBN: step 4 is inside layer 1 (its inputs come from the restored layer 0). DBM: step 6 is
    inside PCD, after the modules were composed at step 4 (its persistent chains are resumed)."""
    config = module.get_config("smoke")
    full = train_and_evaluate(config, str(tmp_path / "full"))
    reference = [np.asarray(x) for x in jax.tree.leaves(load_latest(str(tmp_path / "full"))[0]["params"])]
    for keep in keep_steps:
        run = tmp_path / f"resumed_{keep}"
        train_and_evaluate(config, str(run))
        _resume_from(run, keep)
        again = train_and_evaluate(config, str(run))
        assert_same_params(reference, [np.asarray(x) for x in jax.tree.leaves(load_latest(str(run))[0]["params"])])
        assert again["test_log_likelihood"] == pytest.approx(full["test_log_likelihood"], abs=1e-4)
    phases = [r.get("phase") for r in map(json.loads, (tmp_path / "full" / "metrics.jsonl").read_text().splitlines())
              if r["split"] == "train"]
    assert phases == sorted(phases) and phases[-1] == {dbn_configs: 1, dbm_configs: 2}[module]  # logged as it goes


@pytest.mark.parametrize("module,exact", [(dbn_configs, "dbn"), (dbm_configs, "dbm")])
def test_reported_log_z_is_near_enumeration(module, exact, tmp_path):
    config = overrides.apply(module.get_config("smoke"), {"model.ais_betas": 1_000, "model.ais_chains": 32})
    results = train_and_evaluate(config, str(tmp_path))
    params = jax.tree.map(jnp.asarray, load_latest(str(tmp_path))[0]["params"])
    if exact == "dbn":
        truth = float(exact_log_partition(rbm_of(params["layer_1"])))
    else:
        truth = float(dbm_exact_log_partition(dbm_of(params)))
    assert abs(results["log_z"] - truth) < 0.1, (results["log_z"], truth)
    saved = json.loads((tmp_path / "likelihood.json").read_text())
    assert saved["kind"] == "estimate" and saved["settings"]["ais_betas"] == 1_000 and saved["test"]["binarized"]


@pytest.mark.parametrize("module,changes,message", [
    (dbn_configs, {"data.binarize": False}, "config.data.binarize=False"),
    (dbn_configs, {"model.steps_per_layer": 0}, "config.model.steps_per_layer=0"),
    (dbm_configs, {"model.hidden": (8,)}, r"config.model.hidden=\(8,\)"),
    (dbm_configs, {"model.ais_schedule": "cosine"}, "config.model.ais_schedule='cosine'"),
    (dbm_configs, {"optim.schedule": "sigmoid"}, "config.optim.schedule='sigmoid'"),
])
def test_bad_values_are_named_before_any_work(module, changes, message):
    with pytest.raises(checks.ConfigError, match=message):
        checks.check(overrides.apply(module.get_config("smoke"), changes), num_devices=1)
