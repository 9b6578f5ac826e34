"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks"): a masked 'A'
convolution, residual masked 'B' convolutions, a 1x1 output head.

Output [B, H, W, K * C] parameter-major (the layout of `jaxgen.models.observations`): K
observation parameters per channel; channel c of a pixel sees the pixels before it in raster
order and the channels < c of its own pixel (masks with C channel groups).

`PixelCNNSteps` computes the same network one pixel at a time from per-layer caches: each
layer's value at (a, b) depends only on the previous layer at positions up to (a, b) in raster
order, so the fast sampler computes every layer once per pixel instead of the whole image
once per pixel (jaxgen/models/autoregressive.py).
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgen.nn.layers import Conv
from jaxgen.nn.lowering import causal_mask

Array = jax.Array


def to_parameter_major(out: Array, channels: int) -> Array:
    """[..., C * K] channel-major (the masks' channel groups) -> [..., K * C] parameter-major."""
    k = out.shape[-1] // channels
    return jnp.swapaxes(out.reshape(*out.shape[:-1], channels, k), -1, -2).reshape(out.shape)


def network_input(x: Array) -> Array:
    """Values in [0, 1] -> the networks' input in [-1, 1] (padding is 0 after this)."""
    return 2.0 * x - 1.0


class PixelCNN(nn.Module):
    """x [B, H, W, C] in [0, 1] (labels [B] when num_classes > 0) -> [B, H, W, K * C]."""

    channels: int  # C
    params_per_channel: int  # K
    features: int = 64
    layers: int = 7  # residual mask-B layers after the mask-A input layer
    first_kernel: int = 7
    kernel: int = 3
    head_features: int = 64  # width of the 1x1 output head
    num_classes: int = 0

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None) -> Array:
        groups = self.channels
        h = Conv(self.features, (self.first_kernel,) * 2, mask_type="A", mask_groups=groups, name="conv_in")(
            network_input(x))
        h = h + class_bias(self, labels, 0, self.features)
        for i in range(self.layers):
            r = Conv(self.features, (self.kernel,) * 2, mask_type="B", mask_groups=groups, name=f"res_{i}")(nn.relu(h))
            h = h + r + class_bias(self, labels, i + 1, self.features)
        h = Conv(self.head_features, (1, 1), mask_type="B", mask_groups=groups, name="head")(nn.relu(h))
        out = Conv(self.params_per_channel * self.channels, (1, 1), mask_type="B", mask_groups=groups,
                   name="out")(nn.relu(h))
        return to_parameter_major(out, self.channels)


def class_bias(module: nn.Module, labels: Array | None, i: int, width: int) -> Array:
    """A learned bias per class, [B, 1, 1, width] (0 for unconditional networks)."""
    if module.num_classes == 0:
        return jnp.zeros((), jnp.float32)
    return nn.Embed(module.num_classes, width, name=f"class_{i}")(labels)[:, None, None, :]


def class_bias_at(p: dict, labels: Array | None, i: int | str) -> Array:
    """class_bias of one position: [n, width] (0 for unconditional networks)."""
    name = f"class_{i}"
    return p[name]["embedding"][labels] if name in p else jnp.zeros((), jnp.float32)


def masked_kernel(p: dict, mask_type: str, groups: int) -> Array:
    """A masked Conv's kernel [kh, kw, in, out] times its causal mask, cut to its nonzero rows."""
    kernel = p["kernel"]
    kh, kw, cin, cout = kernel.shape
    return (kernel * causal_mask((kh, kw), cin, cout, mask_type, groups))[: kh // 2 + 1]


def conv_at(window: Array, kernel: Array, bias: Array) -> Array:
    """One output position of a convolution: window [n, kh, kw, in], kernel [kh, kw, in, out] -> [n, out]."""
    return jnp.einsum("nhwc,hwcd->nd", window, kernel) + bias


def window(buffer: Array, row: int | Array, col: int | Array, size: tuple[int, int]) -> Array:
    """buffer[:, row:row + size[0], col:col + size[1], :] at traced positions."""
    n, _, _, c = buffer.shape
    return lax.dynamic_slice(buffer, (0, row, col, 0), (n, *size, c))


def put(buffer: Array, row: int | Array, col: int | Array, value: Array) -> Array:
    """buffer[:, row, col, :] = value ([n, C]) at traced positions."""
    return lax.dynamic_update_slice(buffer, value[:, None, None, :].astype(buffer.dtype), (0, row, col, 0))


@dataclasses.dataclass(frozen=True)
class PixelCNNSteps:
    """`PixelCNN` one pixel at a time. The cache holds, per masked convolution, its input
    zero-padded as SAME padding would (top k // 2 rows, k // 2 columns each side):
    'x' the network input, 'u{i}' relu of the residual stream before res_i."""

    net: PixelCNN
    shape: tuple[int, int, int]  # H, W, C

    def init(self, params: dict, n: int, labels: Array | None) -> dict:
        h, w, c = self.shape
        r0, r = self.net.first_kernel // 2, self.net.kernel // 2
        cache = {"x": jnp.zeros((n, h + r0, w + 2 * r0, c))}
        for i in range(self.net.layers):
            cache[f"u{i}"] = jnp.zeros((n, h + r, w + 2 * r, self.net.features))
        return cache

    def row(self, params: dict, cache: dict, labels: Array | None, a: Array) -> dict:
        return cache  # nothing is computed a row ahead

    def write(self, cache: dict, a: Array, b: Array, value: Array) -> dict:
        """Pixel (a, b)'s values [n, C] in [0, 1] (channels not yet drawn: any value, masked)."""
        r0 = self.net.first_kernel // 2
        return {**cache, "x": put(cache["x"], a + r0, b + r0, network_input(value))}

    def pixel(self, params: dict, cache: dict, labels: Array | None, a: Array, b: Array) -> tuple[dict, Array]:
        """Every layer at (a, b) from the cache; returns the cache with them and out [n, K * C]."""
        p, g, net = params["params"], self.net.channels, self.net
        k0, k = net.first_kernel, net.kernel
        h = conv_at(window(cache["x"], a, b, (k0 // 2 + 1, k0)), masked_kernel(p["conv_in"], "A", g),
                    p["conv_in"]["bias"]) + class_bias_at(p, labels, 0)
        cache = dict(cache)
        for i in range(net.layers):
            buf = put(cache[f"u{i}"], a + k // 2, b + k // 2, nn.relu(h))
            cache[f"u{i}"] = buf
            h = h + conv_at(window(buf, a, b, (k // 2 + 1, k)), masked_kernel(p[f"res_{i}"], "B", g),
                            p[f"res_{i}"]["bias"]) + class_bias_at(p, labels, i + 1)
        h = nn.relu(h)[:, None, None, :]
        h = conv_at(h, masked_kernel(p["head"], "B", g), p["head"]["bias"])
        out = conv_at(nn.relu(h)[:, None, None, :], masked_kernel(p["out"], "B", g), p["out"]["bias"])
        return cache, to_parameter_major(out, g)
