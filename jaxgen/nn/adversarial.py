"""Generators and discriminators: MLP (toy 2-D data) and DCGAN (images).

DCGAN (Radford, Metz & Chintala 2016): strided convolutions in the
discriminator, fractionally-strided (x2 upsampling) convolutions in the
generator, batch norm, ReLU in G and LeakyReLU(0.2) in D, no pooling, tanh
output. `upsample='transpose'` is the paper's 4x4 stride-2 ConvTranspose;
'subpixel' (default) is a 3x3 convolution to 4x the channels followed by
depth_to_space, a reparameterisation that contains every 4x4 stride-2
transposed convolution (each output phase sees a 2x2 input window, inside the
3x3 one) and runs several times faster on XLA:CPU (BENCHMARKS.md).

Likewise the discriminator's 4x4 stride-2 convolutions are computed by
default as space_to_depth(2) followed by a 2x2 stride-1 convolution
(`downsample='space_to_depth'`): exactly a 4x4 stride-2 convolution whose
window starts at row 2i instead of 2i - 1. Same multiply-adds, but its input
gradient (which the generator's update needs) is a stride-1 convolution
instead of XLA:CPU's slow zero-inserting transposed one (BENCHMARKS.md).
`downsample='strided'` is the paper's layer.

Discriminators return one value per example ([B]) plus, optionally,
conditioning on labels: 'concat' (one-hot label appended to the input,
Mirza & Osindero 2014) or 'projection' (Miyato & Koyama 2018:
D(x, y) = psi(phi(x)) + <embed(y), phi(x)>). Normalisation in D: 'batch'
(DCGAN), 'layer' or 'none' (required by per-example gradient penalties),
optionally with spectral normalisation of every weight (Miyato et al. 2018).
Batch norm statistics are synchronised over `axis_name` under pmap.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn.conv import ConvDecoder, ConvEncoder, depth_to_space, space_to_depth
from jaxgen.nn.layers import Conv

Array = jax.Array
NORMS = ("batch", "layer", "none")
UPSAMPLES = ("subpixel", "transpose")
DOWNSAMPLES = ("space_to_depth", "strided")
CONDITIONINGS = ("none", "concat", "projection")


def _one_hot(labels: Array | None, num_classes: int) -> Array | None:
    return None if labels is None or num_classes == 0 else jax.nn.one_hot(labels, num_classes)


class _Layer(nn.Module):
    """A Dense or Conv layer, spectrally normalised when `spectral`."""

    features: int
    kernel: tuple[int, int] | None = None  # None: Dense
    strides: int = 1
    spectral: bool = False
    use_bias: bool = True
    space_to_depth: bool = False  # a k x k stride-2 conv as space_to_depth + (k/2) x (k/2) conv

    @nn.compact
    def __call__(self, x: Array, update_stats: bool = True) -> Array:
        if self.kernel is None:
            layer = nn.Dense(self.features, use_bias=self.use_bias)
        elif self.space_to_depth and self.strides == 2:
            x = space_to_depth(x, 2)
            half = (self.kernel[0] // 2, self.kernel[1] // 2)
            layer = Conv(self.features, half, padding="SAME", use_bias=self.use_bias)
        else:
            layer = Conv(self.features, self.kernel, strides=self.strides, padding="SAME", use_bias=self.use_bias)
        if self.spectral:
            return nn.SpectralNorm(layer)(x, update_stats=update_stats)
        return layer(x)


def _norm(kind: str, axis_name: str | None):
    """The normalisation layer `kind`. A layer followed by batch norm has no bias
    (batch norm removes it: its gradient is 0 and Adam would amplify rounding noise)."""
    if kind == "batch":
        return nn.BatchNorm(use_running_average=False, momentum=0.9, axis_name=axis_name)
    if kind == "layer":
        return nn.LayerNorm()
    return lambda x: x


class MLPGenerator(nn.Module):
    """z [B, Z] (+ labels [B]) -> x [B, *out_shape]; ReLU hidden layers, linear output."""

    out_shape: tuple[int, ...]
    hidden: Sequence[int] = (128, 128, 128)
    num_classes: int = 0
    norm: str = "none"
    axis_name: str | None = None

    @nn.compact
    def __call__(self, z: Array, labels: Array | None = None) -> Array:
        y = _one_hot(labels, self.num_classes)
        h = z if y is None else jnp.concatenate([z, y], -1)
        for width in self.hidden:
            h = nn.relu(_norm(self.norm, self.axis_name)(nn.Dense(width, use_bias=self.norm != "batch")(h)))
        size = 1
        for d in self.out_shape:
            size *= d
        return nn.Dense(size)(h).reshape(z.shape[0], *self.out_shape)


class DCGANGenerator(nn.Module):
    """z [B, Z] (+ labels) -> images [B, H, W, C] in [-1, 1].

    Dense to a [H / 2^n, W / 2^n, channels[0]] map, then n = len(channels)
    x2 upsampling stages to channels[1:], ..., C; batch norm + ReLU between,
    tanh at the end.
    """

    out_shape: tuple[int, int, int]
    channels: Sequence[int] = (256, 128)
    upsample: str = "subpixel"
    num_classes: int = 0
    norm: str = "batch"
    axis_name: str | None = None

    def _up(self, x: Array, features: int, use_bias: bool) -> Array:
        if self.upsample == "transpose":
            return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME", use_bias=use_bias)(x)
        return depth_to_space(Conv(4 * features, (3, 3), padding="SAME", use_bias=use_bias)(x), 2)

    @nn.compact
    def __call__(self, z: Array, labels: Array | None = None) -> Array:
        h, w, c = self.out_shape
        scale = 2 ** len(self.channels)
        y = _one_hot(labels, self.num_classes)
        x = z if y is None else jnp.concatenate([z, y], -1)
        bias = self.norm != "batch"
        x = nn.Dense((h // scale) * (w // scale) * self.channels[0], use_bias=bias)(x)
        x = nn.relu(_norm(self.norm, self.axis_name)(x))
        x = x.reshape(z.shape[0], h // scale, w // scale, self.channels[0])  # [B, h, w, ch0]
        for width in (*self.channels[1:], None):
            if width is None:
                return jnp.tanh(self._up(x, c, True))  # [B, H, W, C]
            x = nn.relu(_norm(self.norm, self.axis_name)(self._up(x, width, bias)))
        raise AssertionError("unreachable")


class Discriminator(nn.Module):
    """x [B, ...] (+ labels [B]) -> [B] logits / critic values.

    trunk 'mlp': Dense(`hidden`) with LeakyReLU(0.2); 'conv': 4x4 stride-2
    convolutions with `channels` (DCGAN), no norm on the first layer.
    """

    trunk: str = "mlp"
    hidden: Sequence[int] = (128, 128, 128)
    channels: Sequence[int] = (64, 128)
    norm: str = "none"
    spectral: bool = False
    num_classes: int = 0
    conditioning: str = "none"
    downsample: str = "space_to_depth"
    axis_name: str | None = None

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None, update_stats: bool = True) -> Array:
        y = _one_hot(labels, self.num_classes) if self.conditioning != "none" else None
        if y is not None and self.conditioning == "concat":
            if x.ndim == 4:  # one-hot label maps as extra channels, [B, H, W, C + K]
                y_map = jnp.broadcast_to(y[:, None, None, :], (*x.shape[:3], y.shape[-1]))
                x = jnp.concatenate([x, y_map], -1)
            else:
                x = jnp.concatenate([x.reshape(x.shape[0], -1), y], -1)
        h = x
        if self.trunk == "conv":
            for i, width in enumerate(self.channels):
                s2d = self.downsample == "space_to_depth"
                h = _Layer(width, (4, 4), 2, self.spectral, i == 0 or self.norm != "batch", s2d)(h, update_stats)
                if i > 0:
                    h = _norm(self.norm, self.axis_name)(h)
                h = nn.leaky_relu(h, 0.2)
            h = h.reshape(h.shape[0], -1)
        else:
            h = h.reshape(h.shape[0], -1)
            for width in self.hidden:
                layer = _Layer(width, None, 1, self.spectral, self.norm != "batch")
                h = nn.leaky_relu(_norm(self.norm, self.axis_name)(layer(h, update_stats)), 0.2)
        out = _Layer(1, None, 1, self.spectral)(h, update_stats)[:, 0]  # [B]
        if y is not None and self.conditioning == "projection":
            embed = nn.Embed(self.num_classes, h.shape[-1])(labels)  # [B, F]
            out = out + jnp.sum(embed * h, axis=-1)
        return out


class AutoencoderDiscriminator(nn.Module):
    """BEGAN's discriminator: an autoencoder x -> D(x) of the same shape.

    'mlp': Dense(hidden) -> code -> Dense(reversed hidden) -> x; 'conv':
    stride-2 3x3 convolutions (ELU) to a `code_dim` bottleneck, then the
    mirror image with sub-pixel upsampling.
    """

    data_shape: tuple[int, ...]
    trunk: str = "mlp"
    hidden: Sequence[int] = (128, 128)
    channels: Sequence[int] = (32, 64)
    code_dim: int = 32

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None, update_stats: bool = True) -> Array:
        del labels, update_stats
        size = 1
        for d in self.data_shape:
            size *= d
        if self.trunk == "conv":
            scale = 2 ** len(self.channels)
            code = nn.Dense(self.code_dim)(ConvEncoder(self.channels, nn.elu)(x))
            h, w, c = self.data_shape
            return ConvDecoder((h // scale, w // scale), tuple(reversed(self.channels)), c, nn.elu)(code)
        h = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            h = nn.elu(nn.Dense(width)(h))
        h = nn.Dense(self.code_dim)(h)
        for width in reversed(self.hidden):
            h = nn.elu(nn.Dense(width)(h))
        return nn.Dense(size)(h).reshape(x.shape)
