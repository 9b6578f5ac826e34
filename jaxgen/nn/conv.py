"""Convolutional encoder / decoder stacks that halve / double resolution per stage.

Upsampling is sub-pixel (Shi et al. 2016): a stride-1 convolution to 4x the
channels followed by depth_to_space. On XLA CPU this is several times faster
than a stride-2 ConvTranspose, which multiplies by the inserted zeros
(see experiments/benchmarks/upsample.py and BENCHMARKS.md).
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn.layers import Conv


def depth_to_space(x: jax.Array, block: int) -> jax.Array:
    """[B, H, W, C * block^2] -> [B, H * block, W * block, C]."""
    b, h, w, c = x.shape
    out_c = c // (block * block)
    x = x.reshape(b, h, w, block, block, out_c)
    x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
    return x.reshape(b, h * block, w * block, out_c)


def space_to_depth(x: jax.Array, block: int) -> jax.Array:
    """[B, H * block, W * block, C] -> [B, H, W, C * block^2] (inverse of depth_to_space)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // block, block, w // block, block, c)
    x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
    return x.reshape(b, h // block, w // block, block * block * c)


class ConvEncoder(nn.Module):
    """Stride-2 3x3 convolutions, one per entry of `channels`, then flatten.

    [B, H, W, C] -> [B, (H / 2^n) * (W / 2^n) * channels[-1]].
    """

    channels: Sequence[int]
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.channels:
            x = self.activation(Conv(width, (3, 3), strides=(2, 2), padding="SAME")(x))
        return x.reshape(x.shape[0], -1)


class ConvDecoder(nn.Module):
    """Dense to a [h, w, channels[0]] map, then one 2x sub-pixel upsampling per
    entry of `channels`, then a 3x3 convolution to `out_channels`.

    [B, D] -> [B, h * 2^n, w * 2^n, out_channels].
    """

    base_shape: tuple[int, int]
    channels: Sequence[int]
    out_channels: int
    activation: Callable[[jax.Array], jax.Array] = nn.relu

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h, w = self.base_shape
        x = self.activation(nn.Dense(h * w * self.channels[0])(z))
        x = x.reshape(z.shape[0], h, w, self.channels[0])
        for width in self.channels:
            x = depth_to_space(Conv(4 * width, (3, 3), padding="SAME")(x), 2)
            x = self.activation(x)
        return Conv(self.out_channels, (3, 3), padding="SAME")(x)
