"""Denoising networks of diffusion models: net(x_t, t, labels, train) -> output of x_t's shape
(times `out_multiplier`: 2 for a second head of learned variances).

`UNetDenoiser` (Ho et al. 2020's U-Net, sized by config): a sinusoidal embedding of t through an
MLP, residual blocks with group norm, SiLU, dropout and the time (and class) embedding added,
self-attention at the resolutions listed, stride-2 convolutions down and nearest-neighbour
upsampling with a convolution up (no transposed convolutions, which XLA:CPU runs slowly).
`MLPDenoiser`: the same conditioning on 2-D data. Class conditioning embeds labels in 0..K-1;
label K is the "no label" of classifier-free guidance (Ho & Salimans 2022).
"""

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn.layers import Conv

Array = jax.Array


def timestep_embedding(t: Array, dim: int, max_period: float = 10_000.0) -> Array:
    """[B] times in [0, 1] -> [B, dim] sinusoids of 1000 t (the step index of a T = 1000 model)
    at geometric frequencies from 1 to 1 / max_period (Vaswani et al.; Ho et al.)."""
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    args = 1000.0 * t.astype(jnp.float32)[:, None] * freqs[None]
    emb = jnp.concatenate([jnp.cos(args), jnp.sin(args)], axis=-1)
    return jnp.pad(emb, ((0, 0), (0, dim % 2)))


class Conditioning(nn.Module):
    """(t [B], labels [B] or None) -> [B, dim]: MLP(sinusoids(t)) + embedding(label); labels use
    num_classes + 1 rows, the last one the null label."""

    dim: int
    num_classes: int = 0

    @nn.compact
    def __call__(self, t: Array, labels: Array | None) -> Array:
        h = timestep_embedding(t, self.dim)
        h = nn.Dense(self.dim)(nn.silu(nn.Dense(self.dim)(h)))
        if self.num_classes:
            if labels is None:
                raise ValueError("a class-conditional denoiser needs labels (num_classes = null label)")
            h = h + nn.Embed(self.num_classes + 1, self.dim)(labels)
        elif labels is not None:
            raise ValueError("labels were given to an unconditional denoiser")
        return h


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=math.gcd(groups, channels))


class ResBlock(nn.Module):
    channels: int
    dropout: float = 0.0
    groups: int = 8

    @nn.compact
    def __call__(self, x: Array, emb: Array, train: bool) -> Array:
        h = Conv(self.channels, (3, 3))(nn.silu(_norm(x.shape[-1], self.groups)(x)))
        h = h + nn.Dense(self.channels)(nn.silu(emb))[:, None, None, :]
        h = nn.silu(_norm(self.channels, self.groups)(h))
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        h = Conv(self.channels, (3, 3), kernel_init=nn.initializers.zeros_init())(h)
        skip = x if x.shape[-1] == self.channels else Conv(self.channels, (1, 1))(x)
        return skip + h


class AttentionBlock(nn.Module):
    """Multi-head self-attention over the H x W positions, residual, zero-initialised output."""

    heads: int = 1
    groups: int = 8

    @nn.compact
    def __call__(self, x: Array) -> Array:
        b, hgt, wid, c = x.shape
        h = _norm(c, self.groups)(x).reshape(b, hgt * wid, c)
        h = nn.MultiHeadDotProductAttention(self.heads, out_kernel_init=nn.initializers.zeros_init())(h)
        return x + h.reshape(b, hgt, wid, c)


class UNetDenoiser(nn.Module):
    """[B, H, W, C] -> [B, H, W, C * out_multiplier]. Level l works at channels * mults[l] and
    resolution H / 2^l; H and W divisible by 2^(len(mults) - 1)."""

    channels: int = 32
    channel_mults: Sequence[int] = (1, 2, 2)
    num_res_blocks: int = 1
    attention_resolutions: Sequence[int] = (7,)
    heads: int = 1
    dropout: float = 0.0
    num_classes: int = 0
    out_multiplier: int = 1
    groups: int = 8

    @nn.compact
    def __call__(self, x: Array, t: Array, labels: Array | None = None, train: bool = False) -> Array:
        emb = Conditioning(4 * self.channels, self.num_classes)(t, labels)
        block = lambda c: ResBlock(c, self.dropout, self.groups)
        attend = lambda h: AttentionBlock(self.heads, self.groups)(h) if h.shape[1] in self.attention_resolutions else h
        h = Conv(self.channels, (3, 3))(x)
        skips = [h]
        for level, mult in enumerate(self.channel_mults):
            for _ in range(self.num_res_blocks):
                h = attend(block(self.channels * mult)(h, emb, train))
                skips.append(h)
            if level < len(self.channel_mults) - 1:
                h = Conv(h.shape[-1], (3, 3), strides=2)(h)
                skips.append(h)
        h = attend(block(h.shape[-1])(h, emb, train))
        h = block(h.shape[-1])(h, emb, train)
        for level, mult in reversed(list(enumerate(self.channel_mults))):
            for _ in range(self.num_res_blocks + 1):
                h = attend(block(self.channels * mult)(jnp.concatenate([h, skips.pop()], -1), emb, train))
            if level > 0:
                h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)  # nearest-neighbour x2, then a convolution
                h = Conv(h.shape[-1], (3, 3))(h)
        h = nn.silu(_norm(h.shape[-1], self.groups)(h))
        return Conv(x.shape[-1] * self.out_multiplier, (3, 3), kernel_init=nn.initializers.zeros_init())(h)


class MLPDenoiser(nn.Module):
    """[B, D] -> [B, D * out_multiplier]: residual MLP blocks, each adding the conditioning."""

    hidden: int = 128
    blocks: int = 3
    num_classes: int = 0
    out_multiplier: int = 1

    @nn.compact
    def __call__(self, x: Array, t: Array, labels: Array | None = None, train: bool = False) -> Array:
        emb = Conditioning(self.hidden, self.num_classes)(t, labels)
        h = nn.Dense(self.hidden)(x)
        for _ in range(self.blocks):
            h = h + nn.Dense(self.hidden)(nn.silu(nn.Dense(self.hidden)(nn.silu(h)) + emb))
        return nn.Dense(x.shape[-1] * self.out_multiplier, kernel_init=nn.initializers.zeros_init())(nn.silu(h))
