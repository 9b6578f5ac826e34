"""pix2pix networks (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator."""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn.conv import depth_to_space
from jaxgen.nn.layers import Conv

Array = jax.Array


class UNet(nn.Module):
    """[B, H, W, C_in] -> [B, H, W, out_channels] in [-1, 1].

    Encoder: 4x4 stride-2 convolutions with `channels` (LeakyReLU 0.2, batch
    norm after the first); decoder: x2 sub-pixel upsampling, batch norm, ReLU,
    concatenated with the encoder map of the same size (the skip connections
    that let the input's detail reach the output). H, W divisible by 2^len(channels).
    """

    out_channels: int
    channels: Sequence[int] = (64, 128)
    axis_name: str | None = None

    def _bn(self):
        return nn.BatchNorm(use_running_average=False, momentum=0.9, axis_name=self.axis_name)

    @nn.compact
    def __call__(self, x: Array) -> Array:
        skips = []
        h = x
        for i, width in enumerate(self.channels):
            h = Conv(width, (4, 4), strides=2, padding="SAME", use_bias=i == 0)(h)
            h = nn.leaky_relu(h if i == 0 else self._bn()(h), 0.2)
            skips.append(h)
        for level in reversed(range(len(self.channels))):  # h is at the resolution of skips[level]
            if level < len(self.channels) - 1:
                h = jnp.concatenate([h, skips[level]], -1)
            if level == 0:
                return jnp.tanh(depth_to_space(Conv(4 * self.out_channels, (3, 3), padding="SAME")(h), 2))
            h = depth_to_space(Conv(4 * self.channels[level - 1], (3, 3), padding="SAME", use_bias=False)(h), 2)
            h = nn.relu(self._bn()(h))
        raise ValueError("UNet needs at least one channel entry")


class PatchDiscriminator(nn.Module):
    """D(input, output) -> [B, h, w] logits, one per overlapping patch (PatchGAN).

    4x4 stride-2 convolutions with `channels` on the concatenated pair, then a
    4x4 stride-1 convolution to one logit per patch; no batch norm on the first layer.
    """

    channels: Sequence[int] = (64, 128)
    axis_name: str | None = None

    @nn.compact
    def __call__(self, condition: Array, x: Array) -> Array:
        h = jnp.concatenate([condition, x], -1)
        for i, width in enumerate(self.channels):
            h = Conv(width, (4, 4), strides=2, padding="SAME", use_bias=i == 0)(h)
            if i > 0:
                h = nn.BatchNorm(use_running_average=False, momentum=0.9, axis_name=self.axis_name)(h)
            h = nn.leaky_relu(h, 0.2)
        return Conv(1, (4, 4), padding="SAME")(h)[..., 0]  # [B, h, w]
