"""PixelRNN with Row LSTM layers (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
section 3.1): a 7x7 mask-A convolution, then LSTM layers that run down the image one row at a
time, each computing a whole row at once. Single-channel images.

Row LSTM layer on input rows x_a ([W, F] each), state (h_a, c_a):
  [o, f, i, g] = K_is * x_a (1x3, mask B: columns b - 1 and b) + K_ss * h_{a-1} (1x3: b - 1 .. b + 1)
  c_a = sigmoid(f + 1) c_{a-1} + sigmoid(i) tanh(g),  h_a = sigmoid(o) tanh(c_a)
followed by a residual 1x1 projection back into the stream. Output: the 1x1 head of PixelCNN.
The receptive field is the triangle above the pixel (the Row LSTM's blind spot is by design).

`PixelRNNSteps` computes the same network one pixel at a time: the state at (a, b) needs only
(a, b - 1 .. b) of the layer's input and (a - 1, b - 1 .. b + 1) of its previous row's state.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgen.nn.layers import Conv
from jaxgen.nn.pixelcnn import class_bias, class_bias_at, conv_at, masked_kernel, network_input, put, window

Array = jax.Array


def lstm_cell(gates: Array, c_prev: Array) -> tuple[Array, Array]:
    """gates [..., 4F] (o, f, i, g), c_prev [..., F] -> (h, c)."""
    o, f, i, g = jnp.split(gates, 4, axis=-1)
    c = jax.nn.sigmoid(f + 1.0) * c_prev + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def state_to_state(h_padded: Array, kernel: Array, col: int | Array | None = None) -> Array:
    """The 1x3 convolution of the previous row's state: h_padded [n, W + 2, F] (zero column each
    side), kernel [3, F, 4F] -> [n, W, 4F] (or [n, 4F] at column `col` only)."""
    if col is None:
        w = h_padded.shape[1] - 2
        return sum(h_padded[:, t:t + w] @ kernel[t] for t in range(3))
    taps = lax.dynamic_slice_in_dim(h_padded, col, 3, axis=1)  # [n, 3, F]
    return jnp.einsum("ntf,tfg->ng", taps, kernel)


class RowLSTMPixelRNN(nn.Module):
    """x [B, H, W, 1] in [0, 1] (labels [B] when num_classes > 0) -> [B, H, W, K]."""

    params_per_channel: int
    features: int = 32
    layers: int = 2
    first_kernel: int = 7
    kernel: int = 3  # unused: the Row LSTM's convolutions are 1x3 (kept for the family's common keys)
    head_features: int = 64
    num_classes: int = 0

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None) -> Array:
        f = self.features
        h = Conv(f, (self.first_kernel,) * 2, mask_type="A", name="conv_in")(network_input(x))
        h = h + class_bias(self, labels, 0, f)
        for i in range(self.layers):
            gates_in = Conv(4 * f, (1, 3), mask_type="B", name=f"is_{i}")(h)  # [B, H, W, 4F]
            ss = self.param(f"ss_{i}", nn.initializers.lecun_normal(in_axis=(0, 1), out_axis=2), (3, f, 4 * f))

            def row(carry, gates_row, ss=ss):
                h_prev, c_prev = carry  # [B, W, F]
                padded = jnp.pad(h_prev, ((0, 0), (1, 1), (0, 0)))
                h_new, c_new = lstm_cell(gates_row + state_to_state(padded, ss), c_prev)
                return (h_new, c_new), h_new

            zeros = jnp.zeros((x.shape[0], x.shape[2], f), h.dtype)
            _, rows = lax.scan(row, (zeros, zeros), jnp.swapaxes(gates_in, 0, 1))  # over rows
            out = jnp.swapaxes(rows, 0, 1)  # [B, H, W, F]
            h = h + Conv(f, (1, 1), name=f"res_{i}")(out) + class_bias(self, labels, i + 1, f)
        h = Conv(self.head_features, (1, 1), name="head")(nn.relu(h))
        return Conv(self.params_per_channel, (1, 1), name="out")(nn.relu(h))


@dataclasses.dataclass(frozen=True)
class PixelRNNSteps:
    """`RowLSTMPixelRNN` one pixel at a time. Cache: 'x' the network input (padded as the 7x7
    mask-A convolution pads it); per layer i: 'in{i}' the current row of its input [n, 1, W + 2, F]
    (a zero column each side), 'h{i}' / 'c{i}' the states of the current row, 'hp{i}' / 'cp{i}'
    those of the previous row (h padded a column each side)."""

    net: RowLSTMPixelRNN
    shape: tuple[int, int, int]

    def init(self, params: dict, n: int, labels: Array | None) -> dict:
        h, w, c = self.shape
        f, r0 = self.net.features, self.net.first_kernel // 2
        cache = {"x": jnp.zeros((n, h + r0, w + 2 * r0, c))}
        for i in range(self.net.layers):
            cache[f"in{i}"] = jnp.zeros((n, 1, w + 2, f))
            cache[f"h{i}"] = cache[f"hp{i}"] = jnp.zeros((n, w + 2, f))
            cache[f"c{i}"] = cache[f"cp{i}"] = jnp.zeros((n, w, f))
        return cache

    def write(self, cache: dict, a: Array, b: Array, value: Array) -> dict:
        r0 = self.net.first_kernel // 2
        return {**cache, "x": put(cache["x"], a + r0, b + r0, network_input(value))}

    def row(self, params: dict, cache: dict, labels: Array | None, a: Array) -> dict:
        """The finished row's states become the previous row's (row 0: zeros, as initialised)."""
        cache = dict(cache)
        for i in range(self.net.layers):
            cache[f"hp{i}"], cache[f"cp{i}"] = cache[f"h{i}"], cache[f"c{i}"]
        return cache

    def pixel(self, params: dict, cache: dict, labels: Array | None, a: Array, b: Array) -> tuple[dict, Array]:
        p, cache, k0 = params["params"], dict(cache), self.net.first_kernel
        h = conv_at(window(cache["x"], a, b, (k0 // 2 + 1, k0)), masked_kernel(p["conv_in"], "A", 1),
                    p["conv_in"]["bias"]) + class_bias_at(p, labels, 0)
        for i in range(self.net.layers):
            cache[f"in{i}"] = put(cache[f"in{i}"], 0, b + 1, h)
            gates = conv_at(window(cache[f"in{i}"], 0, b, (1, 3)), masked_kernel(p[f"is_{i}"], "B", 1),
                            p[f"is_{i}"]["bias"]) + state_to_state(cache[f"hp{i}"], p[f"ss_{i}"], b)
            c_prev = lax.dynamic_slice_in_dim(cache[f"cp{i}"], b, 1, axis=1)[:, 0]
            h_new, c_new = lstm_cell(gates, c_prev)
            cache[f"h{i}"] = lax.dynamic_update_slice_in_dim(cache[f"h{i}"], h_new[:, None], b + 1, axis=1)
            cache[f"c{i}"] = lax.dynamic_update_slice_in_dim(cache[f"c{i}"], c_new[:, None], b, axis=1)
            h = h + conv_at(h_new[:, None, None, :], p[f"res_{i}"]["kernel"], p[f"res_{i}"]["bias"]) + \
                class_bias_at(p, labels, i + 1)
        h = conv_at(nn.relu(h)[:, None, None, :], p["head"]["kernel"], p["head"]["bias"])
        return cache, conv_at(nn.relu(h)[:, None, None, :], p["out"]["kernel"], p["out"]["bias"])
