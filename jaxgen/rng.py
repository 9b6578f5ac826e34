"""Stateless randomness: named streams and per-example keys.

Every random draw in jaxgen derives from a base key by `fold_in`, never from
global state. Per-example keys are folded from the example's global position
in the data stream, so a batch gets the same noise on one device, on a
jit/Mesh of several, or under pmap: results do not depend on the layout.
"""

import zlib

import jax
import jax.numpy as jnp

Array = jax.Array


def stream(key: Array, name: str) -> Array:
    """A named, independent stream of `key` ('dropout', 'sample', 'noise', ...)."""
    return jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def example_keys(key: Array, index: Array) -> Array:
    """One key per example: fold_in(key, index[i]).

    Args:
      key: a single PRNG key.
      index: [B] int32 global example positions (the batch's 'index' field).

    Returns:
      [B] keys.
    """
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, index.astype(jnp.uint32))


def per_example_normal(keys: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
    """Standard normal noise [B, *shape], one draw per example key."""
    return jax.vmap(lambda k: jax.random.normal(k, shape, dtype))(keys)


def example_normal(key: Array, index: Array, shape: tuple[int, ...]) -> Array:
    """N(0, 1) noise [B, *shape], one draw per example key folded from `index` ([B])."""
    return per_example_normal(example_keys(key, index), shape)


def per_example_uniform(keys: Array, shape: tuple[int, ...] = ()) -> Array:
    """U[0, 1) noise [B, *shape], one draw per example key."""
    return jax.vmap(lambda k: jax.random.uniform(k, shape))(keys)


def example_uniform(key: Array, index: Array, shape: tuple[int, ...] = ()) -> Array:
    """U[0, 1) noise [B, *shape], one draw per example key folded from `index` ([B])."""
    return per_example_uniform(example_keys(key, index), shape)
