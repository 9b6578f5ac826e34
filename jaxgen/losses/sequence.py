"""Per-sequence log-likelihoods of token models (pure jax.numpy)."""

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
