"""Training state: everything a resumed run needs, as one pytree."""

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
    """step: int32 scalar; params / opt_state / ema_params: pytrees (ema None
    when off); rng: uint32 raw key data of the run's base key (each step folds
    in its step number, so the base key never changes)."""

    step: jax.Array
    params: Any
    opt_state: Any
    ema_params: Any
    rng: jax.Array

    def base_key(self) -> jax.Array:
        return jax.random.wrap_key_data(self.rng)

    def step_key(self) -> jax.Array:
        """The key of the current step: fold_in(base key, step)."""
        return jax.random.fold_in(self.base_key(), self.step)


def create(params: Any, opt_state: Any, key: jax.Array, ema: bool,
           ema_keys: tuple[str, ...] | None = None) -> TrainState:
    """A step-0 state. With `ema`, ema_params starts as a copy of params, or of
    only the top-level entries `ema_keys` of a dict of params (a GAN's generator)."""
    tracked = params if ema_keys is None else {k: params[k] for k in ema_keys}
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=opt_state,
        ema_params=jax.tree.map(jnp.copy, tracked) if ema else None,
        rng=jax.random.key_data(key),
    )


def evaluation_params(params: Any, ema_params: Any, use_ema: bool) -> Any:
    """The params a run is evaluated and sampled with: with `use_ema` and an EMA kept, its
    entries replace their live counterparts (all of them, or a GAN's generator only)."""
    if use_ema and ema_params is not None:
        return {**params, **ema_params}
    return params
