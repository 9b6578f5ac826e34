"""Bijectors for normalizing flows: invertible Flax layers with closed-form log-determinants.

Every bijector is a module called as `layer(x, inverse=False, cond=None) -> (y, log_det)`:
forward maps data towards the base distribution (x -> z) and returns log |det dz/dx| per
example [B]; `inverse=True` maps z -> x and returns log |det dx/dz| (the negative of the forward
log-det at that x). Parameters are created by a forward call (`init`), which is where ActNorm's
data-dependent initialisation sees the batch: under jit over a batch sharded across devices its
statistics are those of the global batch. `cond` ([B, ...], optional) conditions the coupling
networks (e.g. on the image in variational dequantisation). Log-determinants are computed in
closed form, never by autodiff; tests compare them with `slogdet` of `jax.jacfwd`.

Layers: `ActNorm` (Kingma & Dhariwal 2018), `Invertible1x1Conv` (full or LU-decomposed W),
`AffineCoupling` (Dinh et al. 2017; checkerboard, channel or half masks), `Squeeze`, `Reverse`,
`Permute`, `LogitTransform` (images in (0, 1) to the real line), `Chain` (a composition).
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.nn.conv import depth_to_space, space_to_depth
from jaxgen.nn.layers import Conv

Array = jax.Array


def _sum_per_example(x: Array) -> Array:
    return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def _zeros(x: Array) -> Array:
    return jnp.zeros(x.shape[0], x.dtype)


class ActNorm(nn.Module):
    """y = (x + bias) * exp(log_scale), one (bias, log_scale) per channel (the last axis).
    Data-dependent init: the first batch's per-channel mean and standard deviation give y zero
    mean and unit variance on it (over every axis but the last)."""

    eps: float = 1e-6

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        axes = tuple(range(x.ndim - 1))
        bias = self.param("bias", lambda _: -jnp.mean(x, axes))
        log_scale = self.param("log_scale", lambda _: -jnp.log(jnp.std(x, axes) + self.eps))
        per_position = np.prod(x.shape[1:-1], dtype=np.int64)  # positions sharing a channel's scale
        log_det = jnp.broadcast_to(per_position * jnp.sum(log_scale), (x.shape[0],))
        if inverse:
            return x * jnp.exp(-log_scale) - bias, -log_det
        return (x + bias) * jnp.exp(log_scale), log_det


def _orthogonal(key: Array, c: int) -> Array:
    q, r = jnp.linalg.qr(jax.random.normal(key, (c, c)))
    return q * jnp.sign(jnp.diag(r))


def _fixed_lu(seed: int, c: int) -> tuple[Array, Array, Array]:
    """(P, L, U) of the LU decomposition of a random rotation drawn with numpy from `seed`: the
    same constants at init and in every later call (evaluated at trace time)."""
    a = np.random.default_rng(seed).standard_normal((c, c))
    q, r = np.linalg.qr(a)
    with jax.ensure_compile_time_eval():
        return jax.scipy.linalg.lu(jnp.asarray(q * np.sign(np.diag(r)), jnp.float32))


class Invertible1x1Conv(nn.Module):
    """y = x W over the last axis at every position (Kingma & Dhariwal 2018), W initialised to a
    random rotation. lu=True: W = P L (U + diag(sign(s) exp(log_s))), where P and sign(s) are
    constants of a rotation drawn from `seed` (not parameters: nothing trains or decays them),
    L unit lower and U strictly upper triangular; log |det W| = sum(log_s) costs O(C) and W stays
    invertible while log_s is finite. The log-det is (positions) x log |det W|; log |det W| is
    also sowed as intermediates 'log_abs_det_w' (applied with mutable=['intermediates'])."""

    lu: bool = False
    seed: int = 0

    def weight(self, c: int) -> tuple[Array, Array]:
        """(W [C, C], log |det W|)."""
        if not self.lu:
            w = self.param("kernel", lambda k: _orthogonal(k, c))
            return w, jnp.linalg.slogdet(w)[1]
        perm, lower0, upper0 = _fixed_lu(self.seed, c)
        s0 = jnp.diag(upper0)
        lower = self.param("lower", lambda _: lower0)
        upper = self.param("upper", lambda _: upper0)
        log_s = self.param("log_s", lambda _: jnp.log(jnp.abs(s0)))
        lower = jnp.tril(lower, -1) + jnp.eye(c)
        upper = jnp.triu(upper, 1) + jnp.diag(jnp.sign(s0) * jnp.exp(log_s))
        return perm @ lower @ upper, jnp.sum(log_s)

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        w, log_abs_det = self.weight(x.shape[-1])
        self.sow("intermediates", "log_abs_det_w", log_abs_det)  # the invertibility monitor
        positions = np.prod(x.shape[1:-1], dtype=np.int64)
        log_det = jnp.broadcast_to(positions * log_abs_det, (x.shape[0],))
        if inverse:
            return x @ jnp.linalg.inv(w), -log_det
        return x @ w, log_det


def checkerboard_mask(shape: Sequence[int], parity: int) -> Array:
    """[H, W, 1] of 1.0 where (i + j) % 2 == parity: the kept (conditioning) positions."""
    h, w = shape[0], shape[1]
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return jnp.asarray(((i + j) % 2 == parity)[..., None], jnp.float32)


def half_mask(size: int, parity: int) -> Array:
    """[size] of 1.0 on the first half (parity 0) or the second half (parity 1) of the last axis."""
    first = np.arange(size) < size // 2
    return jnp.asarray(first if parity == 0 else ~first, jnp.float32)


class ConvConditioner(nn.Module):
    """Images: [B, H, W, C_in] -> [B, H, W, out]: a 3x3 conv, `blocks` residual 3x3 blocks of
    `features` channels, a zero-initialised 3x3 output conv (the coupling starts as the identity)."""

    out: int
    features: int = 64
    blocks: int = 2

    @nn.compact
    def __call__(self, x: Array) -> Array:
        h = nn.relu(Conv(self.features, (3, 3))(x))
        for _ in range(self.blocks):
            r = nn.relu(Conv(self.features, (3, 3))(h))
            h = nn.relu(h + Conv(self.features, (1, 1))(r))
        return Conv(self.out, (3, 3), kernel_init=nn.initializers.zeros_init())(h)


class DenseConditioner(nn.Module):
    """Vectors: [B, D_in] -> [B, out]: dense layers of `hidden` widths, zero-initialised output."""

    out: int
    hidden: Sequence[int] = (64, 64)

    @nn.compact
    def __call__(self, x: Array) -> Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.out, kernel_init=nn.initializers.zeros_init())(x)


class AffineCoupling(nn.Module):
    """Affine coupling (Dinh et al. 2017): with a binary mask b (1 = kept),
    z = b x + (1 - b) (x exp(s) + t), (s, t) = NN(b x [, cond]), log-det = sum (1 - b) s.
    mask: 'checkerboard' (images, spatial), 'channel' (images, first / second half of the
    channels) or 'half' (vectors); parity swaps the halves. scale: 'tanh' (s = a tanh(raw), a
    learned per dimension, RealNVP) or 'sigmoid' (exp(s) = sigmoid(raw + 2), Glow)."""

    mask: str
    parity: int = 0
    features: int = 64
    blocks: int = 2
    hidden: Sequence[int] = (64, 64)
    scale: str = "tanh"

    def _mask(self, shape: Sequence[int]) -> Array:
        if self.mask == "checkerboard":
            return checkerboard_mask(shape[1:3], self.parity)
        if self.mask in ("channel", "half"):
            return half_mask(shape[-1], self.parity)
        raise ValueError(f"coupling mask {self.mask!r}: expected 'checkerboard', 'channel' or 'half'")

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        b = self._mask(x.shape)
        inp = x * b
        if cond is not None:
            inp = jnp.concatenate([inp, cond], axis=-1)
        c = x.shape[-1]
        if x.ndim == 4:
            raw = ConvConditioner(2 * c, self.features, self.blocks)(inp)
        elif x.ndim == 2:
            raw = DenseConditioner(2 * c, self.hidden)(inp)
        else:
            raise ValueError(f"AffineCoupling expects [B, H, W, C] or [B, D], got shape {x.shape}")
        raw_s, t = raw[..., :c], raw[..., c:]
        if self.scale == "tanh":
            s = self.param("scale", nn.initializers.ones_init(), (c,)) * jnp.tanh(raw_s)
        elif self.scale == "sigmoid":
            s = jax.nn.log_sigmoid(raw_s + 2.0)
        else:
            raise ValueError(f"coupling scale {self.scale!r}: expected 'tanh' or 'sigmoid'")
        s, t = s * (1.0 - b), t * (1.0 - b)
        log_det = _sum_per_example(s)
        if inverse:
            return b * x + (1.0 - b) * ((x - t) * jnp.exp(-s)), -log_det
        return b * x + (1.0 - b) * (x * jnp.exp(s) + t), log_det


class Squeeze(nn.Module):
    """[B, H, W, C] -> [B, H/2, W/2, 4C] (each 2x2 patch into channels); volume-preserving."""

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        return (depth_to_space(x, 2) if inverse else space_to_depth(x, 2)), _zeros(x)


class Permute(nn.Module):
    """A fixed permutation of the last axis, drawn with numpy from `seed` (a constant, not a
    parameter); volume-preserving."""

    seed: int = 0

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        perm = np.random.default_rng(self.seed).permutation(x.shape[-1])
        return x[..., np.argsort(perm) if inverse else perm], _zeros(x)


class Reverse(nn.Module):
    """Reverses the last axis (MAF's order between autoregressive layers); volume-preserving."""

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        return jnp.flip(x, -1), _zeros(x)


class LogitTransform(nn.Module):
    """Images in (0, 1) to the real line (Dinh et al. 2017): y = logit(a + (1 - 2a) x), with
    log-det = sum [log(1 - 2a) - log s - log(1 - s)], s = a + (1 - 2a) x."""

    alpha: float = 0.05

    @nn.compact
    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        a = self.alpha
        if inverse:
            s = jax.nn.sigmoid(x)
            log_det = _sum_per_example(jnp.log(s) + jnp.log1p(-s) - np.log(1.0 - 2.0 * a))
            return (s - a) / (1.0 - 2.0 * a), log_det
        s = a + (1.0 - 2.0 * a) * x
        log_det = _sum_per_example(np.log(1.0 - 2.0 * a) - jnp.log(s) - jnp.log1p(-s))
        return jnp.log(s) - jnp.log1p(-s), log_det


class Chain(nn.Module):
    """Bijectors applied in order (forward) or in reverse order (inverse); log-dets add."""

    layers: Sequence[Callable]

    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        total = _zeros(x)
        for layer in (reversed(self.layers) if inverse else self.layers):
            x, log_det = layer(x, inverse, cond)
            total = total + log_det
        return x, total
