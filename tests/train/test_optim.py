"""Learning-rate schedules, optimizer choices, gradient clipping and the EMA, each checked
against its closed form evaluated by hand at chosen steps (not against optax's own output)."""

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgen.train import state as state_lib
from jaxgen.train.optim import make_optimizer, schedule
from jaxgen.train.steps import GradientStep


def _closed_form(name: str, lr: float, t: int, total: int, warmup: int) -> float:
    if t < warmup:
        return lr * t / warmup
    s, n = t - warmup, total - warmup
    if name == "constant":
        return lr
    if name == "linear":
        return lr * max(1.0 - s / n, 0.0)
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(s, n) / n))  # cosine and warmup_cosine


@pytest.mark.parametrize("name,warmup", [(n, w) for n in ("constant", "cosine", "linear") for w in (0, 20)]
                         + [("warmup_cosine", 20)])
def test_schedules_follow_their_closed_forms(name, warmup):
    lr, total = 0.3, 100
    fn = schedule(name, lr, total, warmup)
    for t in (0, 1, 10, 19, 20, 21, 50, 73, 99, 100, 150):
        assert float(fn(t)) == pytest.approx(_closed_form(name, lr, t, total, warmup), abs=1e-7), (name, warmup, t)


def _optim(**kw) -> ml_collections.ConfigDict:
    base = {"name": "adam", "lr": 0.1, "schedule": "constant", "warmup_steps": 0, "b1": 0.9, "b2": 0.999,
            "eps": 1e-8, "weight_decay": 0.0, "grad_clip_norm": 0.0}
    return ml_collections.ConfigDict({**base, **kw})


def _two_updates(config, params, grads):
    tx = make_optimizer(config, 100)
    state = tx.init(params)
    out = []
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = params + updates
        out.append(np.asarray(params))
    return out


P0 = np.array([1.0, -2.0, 0.5], np.float32)
G = [np.array([0.3, -4.0, 1.0], np.float32), np.array([-0.1, 2.0, 0.0], np.float32)]


def test_adam_adamw_sgd_rmsprop_updates_by_hand():
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.01

    def adam(decay):
        p, m, v, out = P0.astype(np.float64), 0.0, 0.0, []
        for t, g in enumerate(G, 1):
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
            p = p - lr * ((m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps) + decay * p)
            out.append(p)
        return out

    def sgd_momentum(mu):
        p, buf, out = P0.astype(np.float64), 0.0, []
        for g in G:
            buf = mu * buf + g
            p = p - lr * buf
            out.append(p)
        return out

    def rmsprop(decay):
        p, nu, out = P0.astype(np.float64), 0.0, []
        for g in G:
            nu = decay * nu + (1 - decay) * g**2
            p = p - lr * g / (np.sqrt(nu) + eps)
            out.append(p)
        return out

    cases = [(_optim(name="adam"), adam(0.0)), (_optim(name="adamw", weight_decay=wd), adam(wd)),
             (_optim(name="sgd", b1=0.5), sgd_momentum(0.5)), (_optim(name="sgd", b1=0.0), sgd_momentum(0.0)),
             (_optim(name="rmsprop", b2=0.9), rmsprop(0.9))]
    for config, expected in cases:
        got = _two_updates(config, jnp.asarray(P0), [jnp.asarray(g) for g in G])
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=config.name)


def test_gradient_clipping_rescales_to_the_global_norm_only_above_it():
    sgd = _optim(name="sgd", b1=0.0, lr=1.0, grad_clip_norm=2.0)
    big, small = np.array([3.0, -4.0, 0.0], np.float32), np.array([0.6, 0.8, 0.0], np.float32)  # norms 5 and 1
    (after_big,) = _two_updates(sgd, jnp.asarray(P0), [jnp.asarray(big)])
    np.testing.assert_allclose(after_big, P0 - big * 2.0 / 5.0, rtol=1e-6)
    (after_small,) = _two_updates(sgd, jnp.asarray(P0), [jnp.asarray(small)])
    np.testing.assert_allclose(after_small, P0 - small, rtol=1e-6)


def test_unknown_optimizer_or_schedule_is_named():
    with pytest.raises(ValueError, match="'lion'"):
        make_optimizer(_optim(name="lion"), 10)
    with pytest.raises(ValueError, match="'step'"):
        schedule("step", 0.1, 10)


def test_gradient_step_ema_is_the_warmed_up_average_of_the_iterates():
    """Three steps of SGD on a quadratic: the EMA equals the hand-rolled average with decay
    min(d, (1 + t) / (10 + t)) at update t, and evaluation with use_ema reads the EMA."""
    target = jnp.array([1.0, -1.0])

    def loss(params, batch, key):
        value = jnp.sum((params["w"] - target) ** 2)
        return value, {"loss": value}

    decay, lr = 0.5, 0.1
    step = GradientStep(loss, make_optimizer(_optim(name="sgd", b1=0.0, lr=lr), 10), ema_decay=decay)
    params = {"w": jnp.array([3.0, 2.0])}
    state = state_lib.create(params, step.init(params), jax.random.key(0), ema=True)
    w, ema = np.array([3.0, 2.0]), np.array([3.0, 2.0])
    for t in range(3):
        state, _ = step(state, {})
        w = w - lr * 2 * (w - np.asarray(target))
        d = min(decay, (1 + t) / (10 + t))
        ema = d * ema + (1 - d) * w
        np.testing.assert_allclose(state.params["w"], w, rtol=1e-6)
        np.testing.assert_allclose(state.ema_params["w"], ema, rtol=1e-6)
    assert not np.allclose(ema, w)  # the test can tell the EMA from the live params


def test_evaluation_reads_the_ema_entries_when_asked():
    live = {"generator": 1, "discriminator": 2}
    assert state_lib.evaluation_params(live, {"generator": 10}, True) == {"generator": 10, "discriminator": 2}
    assert state_lib.evaluation_params(live, {"generator": 10}, False) == live
    assert state_lib.evaluation_params(live, None, True) == live
