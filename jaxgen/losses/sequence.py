"""Per-sequence log-likelihoods of token models (pure jax.numpy)."""

import jax
import jax.numpy as jnp
from jax import Array

from jaxgen.losses.likelihoods import categorical_log_prob


def sequence_log_prob(logits: Array, targets: Array, mask: Array | None = None) -> Array:
    """sum_t mask_t log softmax(logits_t)[targets_t]: log p(targets) of an autoregressive (or,
    for a masked LM, conditional) model, per sequence.

    Args:
      logits: [B, T, V].
      targets: [B, T] ids; entries outside [0, V) must be masked out (their value is clamped).
      mask: [B, T], 1 for scored targets (default all).
    Returns [B] nats.
    """
    safe = jnp.clip(targets, 0, logits.shape[-1] - 1)
    per_token = categorical_log_prob(safe, logits, event_ndims=0)  # [B, T]
    if mask is not None:
        per_token = per_token * mask
    return per_token.sum(-1)


def edit_distance(a: Array, a_len: Array, b: Array, b_len: Array) -> Array:
    """Levenshtein distance (insertions, deletions, substitutions, each 1) between a[:a_len] and
    b[:b_len] (one pair; vmap for a batch), jit-compatible: one row of the dynamic programme per
    symbol of a, each row in closed form, new[j] = j + cummin_k<=j (c_k - k) with c_k the row's
    cost without the insertion chain.
    """
    m = b.shape[0]
    cols = jnp.arange(m + 1)

    def row(prev, inputs):
        i, symbol = inputs
        sub = prev[:-1] + (symbol != b)  # [m] diagonal moves
        c = jnp.concatenate([jnp.array([i + 1]), jnp.minimum(prev[1:] + 1, sub)])
        new = cols + jax.lax.cummin(c - cols)
        return jnp.where(i < a_len, new, prev), None

    last, _ = jax.lax.scan(row, cols, (jnp.arange(a.shape[0]), a))
    return last[b_len]
