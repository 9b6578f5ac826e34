"""Step kinds: pure updates (state, batch, axis_name) -> (state, metrics).

A family supplies a step kind to the one loop. `GradientStep` differentiates a
single loss; an adversarial family supplies alternating updates, and EM or
contrastive divergence a statistics-based update, with the same signature.

`axis_name` is None under jit/Mesh, where the batch is one global array and a
mean over it is already global; under pmap it names the device axis and the
step averages gradients and metrics with `lax.pmean` itself.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import optax

from jaxgen.train.state import TrainState

LossFn = Callable[[Any, dict, jax.Array], tuple[jax.Array, dict]]


class Step(Protocol):
    """What the loop needs from a step kind."""

    def init(self, params: Any) -> Any:
        """Optimizer (or other update) state for `params`."""

    def __call__(self, state: TrainState, batch: dict, axis_name: str | None) -> tuple[TrainState, dict]:
        """One update. Metrics are scalars, already averaged over devices."""


def pmean(tree: Any, axis_name: str | None) -> Any:
    """Average over the device axis under pmap; identity under jit."""
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def ema_update(ema: Any, params: Any, decay: float | jax.Array) -> Any:
    """ema <- decay * ema + (1 - decay) * params."""
    return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def ema_decay_at(step: jax.Array, decay: float) -> jax.Array:
    """min(decay, (1 + t) / (10 + t)) at update t: the EMA warm-up of TensorFlow's
    ExponentialMovingAverage(num_updates=t). Without it, the initial weights keep
    weight decay^t (37% after 1,000 steps at 0.999) and short runs average noise."""
    t = jnp.asarray(step, jnp.float32)
    return jnp.minimum(decay, (1.0 + t) / (10.0 + t))


@dataclasses.dataclass(frozen=True)
class GradientStep:
    """Minimise loss_fn(params, batch, rng) -> (loss, metrics) with an optax optimizer.

    The step key is fold_in(base key, step); per-example noise is folded from
    it by the loss (jaxgen.rng.example_keys), so results do not depend on the
    number of devices. Metrics gain 'grad_norm' and 'finite' (1 if the loss
    and gradients are finite).
    """

    loss_fn: LossFn
    tx: optax.GradientTransformation
    ema_decay: float = 0.0
    with_step: bool = False  # loss_fn(params, batch, rng, step): schedules inside the loss (KL warm-up)

    def init(self, params: Any) -> Any:
        return self.tx.init(params)

    def __call__(self, state: TrainState, batch: dict, axis_name: str | None = None):
        extra = (state.step,) if self.with_step else ()
        grads, metrics = jax.grad(self.loss_fn, has_aux=True)(state.params, batch, state.step_key(), *extra)
        return _apply_gradients(self.tx, self.ema_decay, state, grads, metrics, state.opt_state, axis_name)


def _apply_gradients(tx, ema_decay: float, state: TrainState, grads, metrics: dict, opt_state, axis_name):
    """Average over devices, one optimizer update, EMA; the new state (its opt_state is the
    optimizer's) and metrics with 'grad_norm' and 'finite'."""
    grads, metrics = pmean((grads, metrics), axis_name)
    grad_norm = optax.global_norm(grads)
    updates, opt_state = tx.update(grads, opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = state.ema_params
    if ema is not None:
        ema = ema_update(ema, params, ema_decay_at(state.step, ema_decay))
    metrics = dict(metrics, grad_norm=grad_norm, finite=jnp.isfinite(metrics["loss"]) & jnp.isfinite(grad_norm))
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state, ema_params=ema), metrics


PersistentLossFn = Callable[[Any, dict, jax.Array, Any], tuple[jax.Array, tuple[dict, Any]]]


@dataclasses.dataclass(frozen=True)
class PersistentStep:
    """A `GradientStep` whose loss also reads and advances a persistent carry, e.g. the
    Gibbs chains of persistent contrastive divergence (Tieleman 2008):
    loss_fn(params, batch, key, carry) -> (loss, (metrics, new_carry)); the new carry is an
    auxiliary output, so no gradient flows into it. The update state is {"opt": optimizer state, "carry": carry}, so the
    carry is checkpointed and resumed with the run. The carry is not split over devices: every
    device advances the same carry with the same key (a replicated computation), so results
    do not depend on the device count.
    """

    loss_fn: PersistentLossFn
    tx: optax.GradientTransformation
    init_carry: Callable[[Any], Any]
    ema_decay: float = 0.0

    def init(self, params: Any) -> Any:
        return {"opt": self.tx.init(params), "carry": self.init_carry(params)}

    def __call__(self, state: TrainState, batch: dict, axis_name: str | None = None):
        opt_state, carry = state.opt_state["opt"], state.opt_state["carry"]
        grads, (metrics, carry) = jax.grad(self.loss_fn, has_aux=True)(state.params, batch, state.step_key(), carry)
        state, metrics = _apply_gradients(self.tx, self.ema_decay, state, grads, metrics, opt_state, axis_name)
        return state.replace(opt_state={"opt": state.opt_state, "carry": carry}), metrics
