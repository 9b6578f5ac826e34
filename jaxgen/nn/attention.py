"""Multi-head attention and pre-LayerNorm transformer blocks, shared by the decoder-only, the
encoder-decoder and the masked language models.

Decoding keeps a fixed-size key / value cache per self-attention layer: {'k', 'v'} of shape
[B, heads, max_len, head_dim]. A call with `cache` writes this call's keys and values at
`positions` (the absolute positions of its tokens, [T], the same for the whole batch) with
`lax.dynamic_update_slice` and attends over the whole buffer under the mask key <= query, so a
compiled decoder runs every step at one shape. Rotary position embeddings (Su et al. 2021)
rotate queries and keys by their absolute positions before the cache, so cached keys are final.
"""

import jax
import jax.numpy as jnp
from flax import linen as nn

NEG_INF = -1e30


def rotary(x: jax.Array, positions: jax.Array, base: float = 10_000.0) -> jax.Array:
    """Rotate x [B, T, H, D] (D even) pairwise (x_i, x_{i + D/2}) by angle position * base^(-2i/D)."""
    half = x.shape[-1] // 2
    freq = base ** (-jnp.arange(half, dtype=jnp.float32) / half)  # [D/2]
    angle = positions.astype(jnp.float32)[:, None] * freq  # [T, D/2]
    cos, sin = jnp.cos(angle)[None, :, None, :], jnp.sin(angle)[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).astype(x.dtype)


def causal_mask(q_positions: jax.Array, k_positions: jax.Array) -> jax.Array:
    """[1, 1, Tq, Tk] True where key position <= query position."""
    return (k_positions[None, :] <= q_positions[:, None])[None, None]


def padding_mask(valid: jax.Array) -> jax.Array:
    """[B, 1, 1, Tk] from valid keys [B, Tk] (bool)."""
    return valid[:, None, None, :]


def init_cache(batch: int, max_len: int, heads: int, head_dim: int, dtype=jnp.float32) -> dict:
    zeros = jnp.zeros((batch, heads, max_len, head_dim), dtype)
    return {"k": zeros, "v": zeros}


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention of x [B, T, D] on itself or on `context` [B, S, D]."""

    heads: int
    rotary: bool = False  # rotate queries and keys by position (self-attention only)
    dropout: float = 0.0  # on the attention weights

    @nn.compact
    def __call__(self, x, context=None, mask=None, positions=None, cache=None, train: bool = False):
        """mask: bool, broadcastable to [B, heads, T, S] (True: attend). positions: [T] absolute
        positions of x's tokens (rotary, cache). cache: {'k', 'v'} buffers of self-attention;
        returns (y [B, T, D], the updated cache or None)."""
        dim = x.shape[-1]
        if dim % self.heads:
            raise ValueError(f"attention: width {dim} is not divisible by {self.heads} heads")
        head_dim = dim // self.heads
        proj = lambda name: nn.DenseGeneral((self.heads, head_dim), name=name)
        source = x if context is None else context
        q, k, v = proj("query")(x), proj("key")(source), proj("value")(source)  # [B, T|S, H, hd]
        if positions is None:
            positions = jnp.arange(x.shape[1])
        if self.rotary and context is None:
            q, k = rotary(q, positions), rotary(k, positions)
        # heads before positions ([B, H, S, hd]): the layout of the cache, so that attending over
        # it never transposes the whole buffer (a copy of every cached key per step otherwise)
        k, v = k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)
        if cache is not None:
            start = positions[0]
            k = jax.lax.dynamic_update_slice(cache["k"], k.astype(cache["k"].dtype), (0, 0, start, 0))
            v = jax.lax.dynamic_update_slice(cache["v"], v.astype(cache["v"].dtype), (0, 0, start, 0))
            cache = {"k": k, "v": v}
        logits = jnp.einsum("bqhd,bhkd->bhqk", q, k) / jnp.sqrt(head_dim).astype(q.dtype)
        if mask is not None:
            logits = jnp.where(mask, logits, NEG_INF)
        weights = jax.nn.softmax(logits.astype(jnp.float32), -1).astype(q.dtype)
        weights = nn.Dropout(self.dropout)(weights, deterministic=not train)
        out = jnp.einsum("bhqk,bhkd->bqhd", weights, v)
        return nn.DenseGeneral(dim, axis=(-2, -1), name="out")(out), cache


class MLP(nn.Module):
    hidden: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, train: bool = False):
        h = nn.gelu(nn.Dense(self.hidden)(x))
        return nn.Dropout(self.dropout)(nn.Dense(x.shape[-1])(h), deterministic=not train)


class Block(nn.Module):
    """Pre-LayerNorm transformer block: self-attention, optional cross-attention on `context`,
    MLP, each as x + f(LayerNorm(x))."""

    heads: int
    mlp_ratio: int = 4
    dropout: float = 0.0
    rotary: bool = False
    cross: bool = False

    @nn.compact
    def __call__(self, x, mask=None, positions=None, cache=None, context=None, context_mask=None,
                 train: bool = False):
        drop = lambda h: nn.Dropout(self.dropout)(h, deterministic=not train)
        h, cache = MultiHeadAttention(self.heads, self.rotary, self.dropout, name="self_attention")(
            nn.LayerNorm(name="ln_self")(x), mask=mask, positions=positions, cache=cache, train=train)
        x = x + drop(h)
        if self.cross:
            h, _ = MultiHeadAttention(self.heads, False, self.dropout, name="cross_attention")(
                nn.LayerNorm(name="ln_cross")(x), context=context, mask=context_mask, train=train)
            x = x + drop(h)
        x = x + MLP(self.mlp_ratio * x.shape[-1], self.dropout, name="mlp")(nn.LayerNorm(name="ln_mlp")(x), train)
        return x, cache
