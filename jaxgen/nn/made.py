"""MADE (Germain et al. 2015) and the masked autoregressive flow layer of MAF (Papamakarios et
al. 2017).

MADE gives every input dimension a degree 1..D (its place in the autoregressive order) and every
hidden unit a degree in 1..D-1; a connection is kept where the receiving unit's degree is >= the
sending one's (hidden layers) or > it (outputs), so output d depends only on inputs before d.
`MAFLayer` is a bijector (`jaxgen.nn.bijectors` conventions): forward (x -> z) in one pass,
z_d = (x_d - mu_d(x_<d)) exp(-alpha_d(x_<d)), log-det = -sum alpha; inverse (z -> x) in D passes.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def degrees(dim: int, hidden: Sequence[int]) -> list[np.ndarray]:
    """Degrees of the inputs (1..D in order) and of each hidden layer (cycling 1..D-1)."""
    out = [np.arange(1, dim + 1)]
    for width in hidden:
        out.append(np.arange(width) % max(dim - 1, 1) + 1)
    return out


def masks(dim: int, hidden: Sequence[int], outputs_per_dim: int) -> list[np.ndarray]:
    """[in, out] 0/1 masks of each dense layer of a MADE with `hidden` widths whose output has
    `outputs_per_dim` values per input dimension (laid out [outputs_per_dim, D] flattened)."""
    d = degrees(dim, hidden)
    out = [(d[i + 1][None, :] >= d[i][:, None]).astype(np.float32) for i in range(len(hidden))]
    final = np.tile(np.arange(1, dim + 1), outputs_per_dim)
    out.append((final[None, :] > d[-1][:, None]).astype(np.float32))
    return out


class MaskedDense(nn.Module):
    """A dense layer whose kernel is multiplied by a fixed 0/1 mask [in, out]."""

    mask: np.ndarray
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = self.param("kernel", self.kernel_init, self.mask.shape)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.mask.shape[1],))
        return x @ (kernel * jnp.asarray(self.mask)) + bias


class MADE(nn.Module):
    """x [B, D] (and an optional context [B, K], seen by every unit) -> [B, outputs_per_dim, D];
    output [:, k, d] depends on x[:, :d] only. The last layer starts at zero."""

    hidden: Sequence[int] = (128, 128)
    outputs_per_dim: int = 2

    @nn.compact
    def __call__(self, x: Array, context: Array | None = None) -> Array:
        dim = x.shape[-1]
        ms = masks(dim, self.hidden, self.outputs_per_dim)
        h = x
        for i, m in enumerate(ms):
            last = i == len(ms) - 1
            out = MaskedDense(m, nn.initializers.zeros_init() if last else nn.initializers.lecun_normal())(h)
            if context is not None and not last:
                out = out + nn.Dense(m.shape[1], use_bias=False)(context)
            h = out if last else nn.relu(out)
        return h.reshape(x.shape[0], self.outputs_per_dim, dim)


class MAFLayer(nn.Module):
    """A masked autoregressive affine bijector on [B, D]: forward in one MADE pass, inverse in D.
    alpha is soft-clamped to (-clamp, clamp) for stability."""

    hidden: Sequence[int] = (128, 128)
    clamp: float = 5.0

    def setup(self):
        self.made = MADE(self.hidden, 2)

    def _shift_log_scale(self, x: Array, cond: Array | None) -> tuple[Array, Array]:
        out = self.made(x, cond)
        return out[:, 0], self.clamp * jnp.tanh(out[:, 1] / self.clamp)

    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        if x.ndim != 2:
            raise ValueError(f"MAFLayer expects [B, D], got shape {x.shape}")
        if not inverse:
            mu, alpha = self._shift_log_scale(x, cond)
            return (x - mu) * jnp.exp(-alpha), -jnp.sum(alpha, -1)

        def body(d, xs):  # after pass d, dimensions 0..d are exact
            mu, alpha = self._shift_log_scale(xs, cond)
            return xs.at[:, d].set(x[:, d] * jnp.exp(alpha[:, d]) + mu[:, d])

        xs = jnp.zeros_like(x)
        for d in range(x.shape[-1]):  # D is small (2-D, tabular); unrolled keeps flax's scoping simple
            xs = body(d, xs)
        _, alpha = self._shift_log_scale(xs, cond)
        return xs, jnp.sum(alpha, -1)
