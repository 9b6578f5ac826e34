"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders"): a vertical stack that sees every row above (no blind spot) and a horizontal stack
that sees the current row to the left, gated activations tanh(a) * sigmoid(b), class
conditioning by a learned bias per class and layer. Single-channel images.

Layer i, kernel k = 2r + 1 (first_kernel for i = 0):
  v_pre = conv_(r+1) x k(v) over rows a - r .. a   (includes row a: only used shifted down)
  h_pre = conv_1 x (r+1)(h) over columns b - r .. b (i = 0: the image at b - r .. b - 1)
          + 1x1(v_pre shifted down one row) + class bias
  v = gate(v_pre);  h = 1x1(gate(h_pre)) (+ h for i > 0, residual)
Output: 1x1 head on relu(h), [B, H, W, K] (K observation parameters).

`GatedPixelCNNSteps` computes the same network incrementally: the vertical stack one row at a
time (row a - 1 when row a starts), the horizontal stack one pixel at a time.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn.layers import Conv
from jaxgen.nn.lowering import conv2d
from jaxgen.nn.pixelcnn import class_bias_at, conv_at, network_input, put, window

Array = jax.Array


def gate(x: Array) -> Array:
    """tanh(first half) * sigmoid(second half) over the channel axis."""
    a, b = jnp.split(x, 2, axis=-1)
    return jnp.tanh(a) * jax.nn.sigmoid(b)


def shift_down(x: Array) -> Array:
    """Row a <- row a - 1, zeros in row 0: [B, H, W, C]."""
    return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def shift_right(x: Array) -> Array:
    """Column b <- column b - 1, zeros in column 0."""
    return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


class GatedPixelCNN(nn.Module):
    """x [B, H, W, 1] in [0, 1] (labels [B] when num_classes > 0) -> [B, H, W, K]."""

    params_per_channel: int  # K
    features: int = 32
    layers: int = 8
    first_kernel: int = 7
    kernel: int = 3
    head_features: int = 64
    num_classes: int = 0

    def radius(self, i: int) -> int:
        return (self.first_kernel if i == 0 else self.kernel) // 2

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None) -> Array:
        f2 = 2 * self.features
        v = h = network_input(x)
        for i in range(self.layers):
            r = self.radius(i)
            v_pre = Conv(f2, (r + 1, 2 * r + 1), padding=((r, 0), (r, r)), name=f"v_{i}")(v) + self._bias(labels, f"v{i}")
            if i == 0:  # the image at columns b - r .. b - 1
                h_pre = Conv(f2, (1, r), padding=((0, 0), (r - 1, 0)), name=f"h_{i}")(shift_right(h))
            else:
                h_pre = Conv(f2, (1, r + 1), padding=((0, 0), (r, 0)), name=f"h_{i}")(h)
            h_pre = h_pre + Conv(f2, (1, 1), name=f"vh_{i}")(shift_down(v_pre)) + self._bias(labels, f"h{i}")
            out = Conv(self.features, (1, 1), name=f"hout_{i}")(gate(h_pre))
            h = out if i == 0 else h + out
            v = gate(v_pre)
        h = Conv(self.head_features, (1, 1), name="head")(nn.relu(h))
        return Conv(self.params_per_channel, (1, 1), name="out")(nn.relu(h))

    def _bias(self, labels: Array | None, name: str) -> Array:
        if self.num_classes == 0:
            return jnp.zeros((), jnp.float32)
        return nn.Embed(self.num_classes, 2 * self.features, name=f"class_{name}")(labels)[:, None, None, :]


@dataclasses.dataclass(frozen=True)
class GatedPixelCNNSteps:
    """`GatedPixelCNN` one row (vertical stack) and one pixel (horizontal stack) at a time.

    Cache: 'v{i}' the vertical input of layer i (v0: the network input), padded top r and r
    columns each side; 'down{i}' v_pre of layer i shifted down a row ([n, H, W, 2F], row 0
    zero); 'h{i}' (i >= 1) the horizontal input of layer i, padded left r."""

    net: GatedPixelCNN
    shape: tuple[int, int, int]

    def init(self, params: dict, n: int, labels: Array | None) -> dict:
        hh, w, c = self.shape
        f = self.net.features
        cache = {}
        for i in range(self.net.layers):
            r = self.net.radius(i)
            cache[f"v{i}"] = jnp.zeros((n, hh + r, w + 2 * r, c if i == 0 else f))
            cache[f"down{i}"] = jnp.zeros((n, hh, w, 2 * f))
            if i > 0:
                cache[f"h{i}"] = jnp.zeros((n, hh, w + r, f))
        return cache

    def write(self, cache: dict, a: Array, b: Array, value: Array) -> dict:
        r = self.net.radius(0)
        return {**cache, "v0": put(cache["v0"], a + r, b + r, network_input(value))}

    def row(self, params: dict, cache: dict, labels: Array | None, a: Array) -> dict:
        """The vertical stack on row a - 1 (complete when row a starts); row 0 needs nothing."""
        p, cache = params["params"], dict(cache)

        def compute(cache):
            cache = dict(cache)
            for i in range(self.net.layers):
                r = self.net.radius(i)
                buf = cache[f"v{i}"]
                rows = jax.lax.dynamic_slice_in_dim(buf, a - 1, r + 1, axis=1)  # input rows a-1-r .. a-1
                v_pre = conv2d(rows, p[f"v_{i}"]["kernel"], (1, 1), "VALID") + p[f"v_{i}"]["bias"]  # [n, 1, W, 2F]
                bias = class_bias_at(p, labels, f"v{i}")
                v_pre = v_pre + (bias[:, None, None, :] if bias.ndim else bias)
                cache[f"down{i}"] = jax.lax.dynamic_update_slice_in_dim(cache[f"down{i}"], v_pre, a, axis=1)
                if i + 1 < self.net.layers:
                    r1 = self.net.radius(i + 1)
                    nxt = jnp.pad(gate(v_pre), ((0, 0), (0, 0), (r1, r1), (0, 0)))
                    cache[f"v{i + 1}"] = jax.lax.dynamic_update_slice_in_dim(cache[f"v{i + 1}"], nxt, a - 1 + r1, axis=1)
            return cache

        return jax.lax.cond(a > 0, compute, lambda c: dict(c), cache)

    def pixel(self, params: dict, cache: dict, labels: Array | None, a: Array, b: Array) -> tuple[dict, Array]:
        p, cache = params["params"], dict(cache)
        h = None
        for i in range(self.net.layers):
            r = self.net.radius(i)
            if i == 0:  # the image at (a, b - r .. b - 1): padded columns b .. b + r - 1 of v0
                src = window(cache["v0"], a + r, b, (1, r))
            else:
                cache[f"h{i}"] = put(cache[f"h{i}"], a, b + r, h)
                src = window(cache[f"h{i}"], a, b, (1, r + 1))
            down = window(cache[f"down{i}"], a, b, (1, 1))
            h_pre = (conv_at(src, p[f"h_{i}"]["kernel"], p[f"h_{i}"]["bias"])
                     + conv_at(down, p[f"vh_{i}"]["kernel"], p[f"vh_{i}"]["bias"]) + class_bias_at(p, labels, f"h{i}"))
            out = conv_at(gate(h_pre)[:, None, None, :], p[f"hout_{i}"]["kernel"], p[f"hout_{i}"]["bias"])
            h = out if i == 0 else h + out
        h = conv_at(nn.relu(h)[:, None, None, :], p["head"]["kernel"], p["head"]["bias"])
        return cache, conv_at(nn.relu(h)[:, None, None, :], p["out"]["kernel"], p["out"]["bias"])
