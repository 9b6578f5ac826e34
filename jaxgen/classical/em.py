"""The EM iteration shared by the mixture models: update until the objective settles."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class EMTrace(NamedTuple):
    objective: Array  # [max_iter] the per-point objective before each M-step (NaN after the stop)
    num_iters: Array  # M-steps taken
    converged: Array  # bool: the change fell below tol before max_iter


def iterate(update: Callable[[Any], tuple[Any, Array]], params: Any, max_iter: int, tol: float,
            dtype=jnp.float32) -> tuple[Any, EMTrace]:
    """Apply `update(params) -> (next params, objective of params)` until the objective changes
    by less than `tol` or `max_iter` updates, in one `lax.while_loop`."""

    def cond(c):
        _, i, _, _, done = c
        return (i < max_iter) & ~done

    def body(c):
        p, i, prev, trace, _ = c
        p, objective = update(p)
        return p, i + 1, objective, trace.at[i].set(objective), jnp.abs(objective - prev) < tol

    trace0 = jnp.full((max_iter,), jnp.nan, dtype)
    params, n, _, trace, done = jax.lax.while_loop(
        cond, body, (params, jnp.int32(0), jnp.array(-jnp.inf, dtype), trace0, jnp.array(False)))
    return params, EMTrace(trace, n, done)
