"""PixelRNN with Diagonal BiLSTM layers (van den Oord et al. 2016, section 3.2): a 7x7 mask-A
convolution, then layers whose two LSTMs run along the diagonals of the image, one from the
left and one from the right; the right one's output moves down a row so that no pixel sees
itself or what comes after it. The receptive field is everything before the pixel (no blind
spot). Single-channel images.

Left-to-right LSTM of a layer with input u (the residual stream), state at (a, b):
  [o, f, i, g] = K_is u(a, b) (1x1) + K_0 h(a, b - 1) + K_1 h(a - 1, b)
  c(a, b) = sigmoid(f + 1) c(a, b - 1) + sigmoid(i) tanh(g),  h(a, b) = sigmoid(o) tanh(c(a, b))
with zero states outside the image. The right-to-left LSTM is the same on the mirrored image,
read at (a - 1, b). Layer output: u + 1x1(h_left(a, b) + h_right(a - 1, b)).

The full network computes each LSTM on the skewed map (row a shifted right by a), where the
two neighbours of (a, b) are one column back, so one column of the skewed map is one step of a
`lax.scan`. `DiagonalBiLSTMSteps` computes the same network one pixel at a time (the
right-to-left LSTM one row behind, at the start of each row).
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxgen.nn.layers import Conv
from jaxgen.nn.pixelcnn import class_bias, class_bias_at, conv_at, masked_kernel, network_input, put, window
from jaxgen.nn.pixelrnn import lstm_cell

Array = jax.Array


def skew(x: Array) -> Array:
    """[B, H, W, C] -> [B, H, W + H - 1, C]: row a shifted right by a (zeros elsewhere)."""
    h = x.shape[1]
    return jnp.stack([jnp.pad(x[:, a], ((0, 0), (a, h - 1 - a), (0, 0))) for a in range(h)], axis=1)


def unskew(x: Array, width: int) -> Array:
    """The inverse of `skew`: [B, H, W + H - 1, C] -> [B, H, W, C]."""
    return jnp.stack([x[:, a, a:a + width] for a in range(x.shape[1])], axis=1)


def diagonal_lstm(gates_in: Array, kernel: Array) -> Array:
    """gates_in [B, H, W, 4F] (the input's share of the gates), kernel [2, F, 4F] (K_0 on the
    left neighbour, K_1 on the one above) -> h [B, H, W, F]."""
    b, h, w, f4 = gates_in.shape
    f = f4 // 4
    skewed = skew(gates_in)  # [B, H, W + H - 1, 4F]
    valid = skew(jnp.ones((1, h, w, 1), gates_in.dtype))[0]  # [H, W + H - 1, 1]: inside the image

    def column(carry, inputs):
        h_prev, c_prev = carry  # [B, H, F]: the previous column (left neighbours)
        g_col, v_col = inputs  # [B, H, 4F], [H, 1]
        above = jnp.pad(h_prev, ((0, 0), (1, 0), (0, 0)))[:, :-1]  # (a - 1, b) is row a - 1 of the previous column
        h_new, c_new = lstm_cell(g_col + h_prev @ kernel[0] + above @ kernel[1], c_prev)
        h_new, c_new = h_new * v_col, c_new * v_col  # zero states outside the image
        return (h_new, c_new), h_new

    zeros = jnp.zeros((b, h, f), gates_in.dtype)
    _, cols = lax.scan(column, (zeros, zeros), (jnp.moveaxis(skewed, 2, 0), jnp.moveaxis(valid, 1, 0)))
    return unskew(jnp.moveaxis(cols, 0, 2), w)  # [B, H, W, F]


class DiagonalBiLSTMPixelRNN(nn.Module):
    """x [B, H, W, 1] in [0, 1] (labels [B] when num_classes > 0) -> [B, H, W, K]."""

    params_per_channel: int
    features: int = 32
    layers: int = 2
    first_kernel: int = 7
    kernel: int = 3  # unused (the family's common keys)
    head_features: int = 64
    num_classes: int = 0

    @nn.compact
    def __call__(self, x: Array, labels: Array | None = None) -> Array:
        f = self.features
        init = nn.initializers.lecun_normal(in_axis=(0, 1), out_axis=2)
        u = Conv(f, (self.first_kernel,) * 2, mask_type="A", name="conv_in")(network_input(x))
        u = u + class_bias(self, labels, 0, f)
        for i in range(self.layers):
            left = diagonal_lstm(Conv(4 * f, (1, 1), name=f"is_l_{i}")(u), self.param(f"ss_l_{i}", init, (2, f, 4 * f)))
            mirrored = Conv(4 * f, (1, 1), name=f"is_r_{i}")(jnp.flip(u, 2))
            right = jnp.flip(diagonal_lstm(mirrored, self.param(f"ss_r_{i}", init, (2, f, 4 * f))), 2)
            right = jnp.pad(right, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]  # down a row
            u = u + Conv(f, (1, 1), name=f"res_{i}")(left + right) + class_bias(self, labels, i + 1, f)
        h = Conv(self.head_features, (1, 1), name="head")(nn.relu(u))
        return Conv(self.params_per_channel, (1, 1), name="out")(nn.relu(h))


@dataclasses.dataclass(frozen=True)
class DiagonalBiLSTMSteps:
    """`DiagonalBiLSTMPixelRNN` one pixel at a time. Cache: 'x' the network input (padded for the
    mask-A convolution); per layer i: 'u{i}' its input on the current row [n, W, F]; the
    left-to-right states 'hl{i}' / 'cl{i}' of the current row [n, W + 1, F] (a zero column on the
    left) and 'hl_up{i}' of the previous row [n, W, F]; the right-to-left states 'hr{i}' of the
    previous row [n, W, F] (read shifted down)."""

    net: DiagonalBiLSTMPixelRNN
    shape: tuple[int, int, int]

    def init(self, params: dict, n: int, labels: Array | None) -> dict:
        h, w, c = self.shape
        f, r0 = self.net.features, self.net.first_kernel // 2
        cache = {"x": jnp.zeros((n, h + r0, w + 2 * r0, c))}
        for i in range(self.net.layers):
            cache.update({f"u{i}": jnp.zeros((n, w, f)), f"hl{i}": jnp.zeros((n, w + 1, f)),
                          f"cl{i}": jnp.zeros((n, w + 1, f)), f"hl_up{i}": jnp.zeros((n, w, f)),
                          f"hr{i}": jnp.zeros((n, w, f))})
        return cache

    def write(self, cache: dict, a: Array, b: Array, value: Array) -> dict:
        r0 = self.net.first_kernel // 2
        return {**cache, "x": put(cache["x"], a + r0, b + r0, network_input(value))}

    def row(self, params: dict, cache: dict, labels: Array | None, a: Array) -> dict:
        """Row a starts: the left-to-right states of row a - 1 become those above; the
        right-to-left LSTM runs over row a - 1 (complete), right to left, from its row a - 2."""
        p, cache, w = params["params"], dict(cache), self.shape[1]
        for i in range(self.net.layers):
            cache[f"hl_up{i}"] = cache[f"hl{i}"][:, 1:]
            cache[f"hl{i}"] = jnp.zeros_like(cache[f"hl{i}"])
            cache[f"cl{i}"] = jnp.zeros_like(cache[f"cl{i}"])
            gates_in = conv_at(cache[f"u{i}"][:, :, None, None, :].reshape(-1, 1, 1, cache[f"u{i}"].shape[-1]),
                               p[f"is_r_{i}"]["kernel"], p[f"is_r_{i}"]["bias"]).reshape(*cache[f"u{i}"].shape[:2], -1)
            up, kernel = cache[f"hr{i}"], p[f"ss_r_{i}"]  # states of row a - 2, the row above row a - 1

            def step(carry, col, gates_in=gates_in, up=up, kernel=kernel):
                h_right, c_right = carry  # the right neighbour's states, [n, F]
                h_new, c_new = lstm_cell(gates_in[:, col] + h_right @ kernel[0] + up[:, col] @ kernel[1], c_right)
                return (h_new, c_new), h_new

            zeros = jnp.zeros_like(up[:, 0])
            _, hs = lax.scan(step, (zeros, zeros), jnp.arange(w - 1, -1, -1))
            row_states = jnp.flip(jnp.moveaxis(hs, 0, 1), 1)  # [n, W], left to right
            new = jnp.where(a > 0, row_states, jnp.zeros_like(row_states))  # no row -1
            cache[f"hr{i}"] = new
        return cache

    def pixel(self, params: dict, cache: dict, labels: Array | None, a: Array, b: Array) -> tuple[dict, Array]:
        p, cache, k0 = params["params"], dict(cache), self.net.first_kernel
        u = conv_at(window(cache["x"], a, b, (k0 // 2 + 1, k0)), masked_kernel(p["conv_in"], "A", 1),
                    p["conv_in"]["bias"]) + class_bias_at(p, labels, 0)
        for i in range(self.net.layers):
            cache[f"u{i}"] = lax.dynamic_update_slice_in_dim(cache[f"u{i}"], u[:, None], b, axis=1)
            gates = conv_at(u[:, None, None, :], p[f"is_l_{i}"]["kernel"], p[f"is_l_{i}"]["bias"])
            left = lax.dynamic_slice_in_dim(cache[f"hl{i}"], b, 1, axis=1)[:, 0]  # (a, b - 1): padded column b
            above = lax.dynamic_slice_in_dim(cache[f"hl_up{i}"], b, 1, axis=1)[:, 0]
            c_left = lax.dynamic_slice_in_dim(cache[f"cl{i}"], b, 1, axis=1)[:, 0]
            h_new, c_new = lstm_cell(gates + left @ p[f"ss_l_{i}"][0] + above @ p[f"ss_l_{i}"][1], c_left)
            cache[f"hl{i}"] = lax.dynamic_update_slice_in_dim(cache[f"hl{i}"], h_new[:, None], b + 1, axis=1)
            cache[f"cl{i}"] = lax.dynamic_update_slice_in_dim(cache[f"cl{i}"], c_new[:, None], b + 1, axis=1)
            right = lax.dynamic_slice_in_dim(cache[f"hr{i}"], b, 1, axis=1)[:, 0]  # (a - 1, b)
            u = u + conv_at((h_new + right)[:, None, None, :], p[f"res_{i}"]["kernel"], p[f"res_{i}"]["bias"]) + \
                class_bias_at(p, labels, i + 1)
        h = conv_at(nn.relu(u)[:, None, None, :], p["head"]["kernel"], p["head"]["bias"])
        return cache, conv_at(nn.relu(h)[:, None, None, :], p["out"]["kernel"], p["out"]["bias"])
