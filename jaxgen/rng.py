"""Stateless randomness: named streams and per-example keys.

Every random draw in jaxgen derives from a base key by `fold_in`, never from
global state. Per-example keys are folded from the example's global position
in the data stream, so a batch gets the same noise on one device, on a
jit/Mesh of several, under pmap or over several processes: results do not depend on the
layout. Positions are 64-bit (a run at a global batch of 4,096 passes 2^32 examples after about
a million steps), carried as two uint32 words because JAX computes in 32 bits by default.
"""

import zlib

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def stream(key: Array, name: str) -> Array:
    """A named, independent stream of `key` ('dropout', 'sample', 'noise', ...)."""
    return jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def position_words(positions: np.ndarray) -> np.ndarray:
    """Non-negative integer positions [...] (below 2^64) -> [..., 2] uint32 (high word, low word),
    the 'index' field of a training batch."""
    positions = np.asarray(positions, dtype=np.uint64)
    return np.stack([positions >> np.uint64(32), positions & np.uint64(0xFFFFFFFF)], axis=-1).astype(np.uint32)


def _position_key(key: Array, high: Array, low: Array) -> Array:
    """fold_in(key, low), then fold_in(., high) when high > 0: positions below 2^32 keep the keys
    they had when positions were 32-bit, and no two positions below 2^64 share a derivation."""
    k = jax.random.fold_in(key, low)
    return jax.lax.cond(high > 0, lambda: jax.random.fold_in(k, high), lambda: k)


def example_keys(key: Array, index: Array) -> Array:
    """One key per example, folded from its position in the data stream.

    Args:
      key: a single PRNG key.
      index: the batch's 'index' field: [B] positions below 2^32 (int32 / uint32; test batches),
        or [B, 2] uint32 (high, low) words of 64-bit positions (training batches; see
        `position_words`).

    Returns:
      [B] keys; a position below 2^32 gets fold_in(key, position) in either form.
    """
    index = jnp.asarray(index)
    if index.ndim == 1:
        return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, index.astype(jnp.uint32))
    words = index.astype(jnp.uint32)
    return jax.vmap(_position_key, in_axes=(None, 0, 0))(key, words[:, 0], words[:, 1])


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
