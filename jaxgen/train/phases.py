"""A multi-phase step kind: one run whose update changes with the step (greedy layer-wise
pretraining, then joint training), checkpointed and resumed like any other.

The phase is a function of the step (its start and length are static), so a run killed inside a
phase, or at a boundary, resumes exactly: the step, the params, every phase's optimizer state
and every phase's carry (e.g. persistent Gibbs chains) are the checkpointed update state. Each
phase differentiates nothing itself: its `update` returns the descent direction (a gradient or
minus a contrastive-divergence statistic) for the params it trains, zeros elsewhere, and its
own optax transformation applies it.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgen.train.state import TrainState
from jaxgen.train.steps import pmean

# (params, batch, key, carry, first) -> (params, descent direction, metrics, new carry); `first`
# is True on the phase's first step (e.g. to initialise what the phase trains from the earlier
# phases' params); the params returned are those the direction applies to.
PhaseUpdate = Callable[[Any, dict, jax.Array, Any, jax.Array], tuple[Any, Any, dict, Any]]


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    num_steps: int
    update: PhaseUpdate
    tx: optax.GradientTransformation
    init_carry: Callable[[Any], Any] = lambda params: ()


@dataclasses.dataclass(frozen=True)
class PhasedStep:
    """Run `phases` one after another; metrics gain 'phase', 'grad_norm' and 'finite'. Every
    phase's metrics must have the same names (the step returns one structure)."""

    phases: tuple[Phase, ...]

    def __post_init__(self):
        if not self.phases or min(p.num_steps for p in self.phases) < 1:
            raise ValueError(f"phases need at least one step each, got {[p.num_steps for p in self.phases]}")

    @property
    def num_steps(self) -> int:
        return int(sum(p.num_steps for p in self.phases))

    @property
    def starts(self) -> np.ndarray:
        return np.cumsum([0] + [p.num_steps for p in self.phases])[:-1]

    def phase_of(self, step) -> jax.Array:
        """The index of the phase that step `step` (0-based) belongs to."""
        return jnp.sum(jnp.asarray(step) >= jnp.asarray(self.starts[1:])).astype(jnp.int32)

    def init(self, params: Any) -> Any:
        return {"opt": tuple(p.tx.init(params) for p in self.phases),
                "carry": tuple(p.init_carry(params) for p in self.phases)}

    def __call__(self, state: TrainState, batch: dict, axis_name: str | None = None):
        key = state.step_key()
        starts = self.starts

        def branch(i: int):
            phase = self.phases[i]

            def run(operands):
                params, opts, carries = operands
                first = state.step == int(starts[i])
                params, direction, metrics, carry = phase.update(params, batch, key, carries[i], first)
                direction, metrics = pmean((direction, metrics), axis_name)
                updates, opt = phase.tx.update(direction, opts[i], params)
                params = optax.apply_updates(params, updates)
                opts = opts[:i] + (opt,) + opts[i + 1:]
                carries = carries[:i] + (carry,) + carries[i + 1:]
                return params, opts, carries, dict(metrics, grad_norm=optax.global_norm(direction))

            return run

        operands = (state.params, state.opt_state["opt"], state.opt_state["carry"])
        params, opts, carries, metrics = jax.lax.switch(self.phase_of(state.step),
                                                        [branch(i) for i in range(len(self.phases))], operands)
        metrics = dict(metrics, phase=self.phase_of(state.step).astype(jnp.float32),
                       finite=jnp.isfinite(metrics["loss"]) & jnp.isfinite(metrics["grad_norm"]))
        return state.replace(step=state.step + 1, params=params, opt_state={"opt": opts, "carry": carries}), metrics
