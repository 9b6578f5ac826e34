"""The adversarial step kind: k discriminator updates per generator update,
equal to a plain Python loop of Algorithm 1; generator-only EMA; 1 vs 4 devices."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.models import gan
from jaxgen.nn import adversarial as nets
from jaxgen.train import state as state_lib
from jaxgen.train.adversarial import AdversarialStep, split_interleaved
from tests.train.helpers import assert_same_params, launch_args, params_of, run


def _model(loss="nonsaturating", penalty="none"):
    return gan.GAN(nets.MLPGenerator((2,), (8,)), nets.Discriminator("mlp", (8,)), latent_dim=3, loss=loss,
                   penalty=penalty, image=False)


def _batch(n, step=0):
    x = np.random.default_rng(step).normal(size=(n, 2)).astype(np.float32)
    return {"x": jnp.asarray(x), "index": jnp.arange(step * n, (step + 1) * n, dtype=jnp.int32)}


def test_split_interleaved_sends_example_i_to_update_i_mod_k():
    batch = {"index": jnp.arange(12)}
    np.testing.assert_array_equal(split_interleaved(batch, 3)["index"], [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]])


@pytest.mark.parametrize("k,loss,penalty", [(1, "nonsaturating", "none"), (3, "wgan", "gp")])
def test_step_equals_algorithm_1_loop(k, loss, penalty):
    model = _model(loss, penalty)
    d_tx, g_tx = optax.adam(1e-2), optax.sgd(1e-2)
    step = AdversarialStep(model, d_tx, g_tx, d_steps=k, ema_decay=0.5)
    params = model.init(jax.random.key(0), _batch(2))
    state = state_lib.create(params, step.init(params), jax.random.key(1), ema=True, ema_keys=("generator",))
    compiled = jax.jit(step)
    for s in range(2):
        state, metrics = compiled(state, _batch(4 * k, s))
    assert bool(metrics["finite"])

    # Reference: an explicit loop with the objective's two losses and optax.
    from jaxgen import rng as rng_lib

    p = params
    d_opt, g_opt = d_tx.init(p["discriminator"]["params"]), g_tx.init(p["generator"]["params"])
    ema = p["generator"]
    base = jax.random.key(1)
    for s in range(2):
        key = jax.random.fold_in(base, s)
        batch = _batch(4 * k, s)
        for j in range(k):
            sub = {name: v[j::k] for name, v in batch.items()}
            def f(t, p=p, sub=sub, key=key):
                return model.d_loss({**p, "discriminator": {"params": t}}, sub, rng_lib.stream(key, "discriminator"))[0]

            g = jax.grad(f)(p["discriminator"]["params"])
            u, d_opt = d_tx.update(g, d_opt, p["discriminator"]["params"])
            p = {**p, "discriminator": {"params": optax.apply_updates(p["discriminator"]["params"], u)}}
        sub = {name: v[k - 1::k] for name, v in batch.items()}
        def h(t, p=p, sub=sub, key=key):
            return model.g_loss({**p, "generator": {"params": t}}, sub, rng_lib.stream(key, "generator"))[0]

        g = jax.grad(h)(p["generator"]["params"])
        u, g_opt = g_tx.update(g, g_opt, p["generator"]["params"])
        p = {**p, "generator": {"params": optax.apply_updates(p["generator"]["params"], u)}}
        decay = min(0.5, (1 + s) / (10 + s))  # EMA warm-up: 0.1, then 0.18
        ema = jax.tree.map(lambda e, q, d=decay: d * e + (1 - d) * q, ema, p["generator"])
    assert_same_params(jax.tree.leaves(state.params), jax.tree.leaves(p), atol=1e-6, rtol=1e-5)
    assert_same_params(jax.tree.leaves(state.ema_params["generator"]), jax.tree.leaves(ema), atol=1e-6, rtol=1e-5)
    # Exactly k discriminator updates per generator update (Adam counts its updates).
    assert int(state.opt_state["discriminator"][0].count) == 2 * k
    assert set(state.ema_params) == {"generator"}


def test_began_k_stays_in_unit_interval_during_training():
    gen = nets.MLPGenerator((2,), (8,))
    model = gan.GAN(gen, nets.AutoencoderDiscriminator((2,), "mlp", (8,), code_dim=2), 3, loss="began",
                    began_lambda_k=0.5, image=False)
    step = AdversarialStep(model, optax.adam(1e-2), optax.adam(1e-2))
    params = model.init(jax.random.key(0), _batch(2))
    state = state_lib.create(params, step.init(params), jax.random.key(1), ema=False)
    compiled = jax.jit(step)
    ks = []
    for s in range(30):
        state, _ = compiled(state, _batch(16, s))
        ks.append(float(state.params["began_k"]))
    assert all(0.0 <= k <= 1.0 for k in ks)
    assert max(ks) > 0.0  # the controller moved


@pytest.mark.slow
@pytest.mark.parametrize("config,parallel", [
    ("experiments/configs/gan.py:smoke_wgan_gp", ("jit", "pmap")),
    # Batch norm: under jit its statistics are global by construction; pmap is the path that
    # must synchronise them explicitly (axis_name), so DCGAN checks pmap only (CI time).
    ("experiments/configs/dcgan.py:smoke", ("pmap",)),
])
def test_one_device_equals_four_devices(tmp_path, config, parallel):
    """Same params on 1 device and on 4 devices (jit Mesh and/or pmap; batch norm
    statistics synchronised, per-example noise folded from stream positions)."""
    steps = ["--config.train.num_steps=2", "--config.checkpoint.every_steps=0"]
    runs = {"one": (["--config.train.num_devices=1"], 1)}
    runs.update({f"{p}4": ([f"--config.train.parallel={p}"], 4) for p in parallel})
    params = {}
    for name, (flags, devices) in runs.items():
        result = run(launch_args(tmp_path / name, *steps, *flags, config=config), devices=devices)
        assert result.returncode == 0, result.stderr[-3000:]
        params[name] = params_of(tmp_path / name)
    for p in parallel:
        assert_same_params(params["one"], params[f"{p}4"], atol=2e-5, rtol=2e-5)
