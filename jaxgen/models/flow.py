"""Normalizing flows: RealNVP (Dinh et al. 2017) and Glow (Kingma & Dhariwal 2018) on images,
MAF (Papamakarios et al. 2017) and RealNVP on vectors, with uniform or variational (Flow++, Ho
et al. 2019) dequantisation of discrete data, the importance-weighted estimate of the discrete
log-likelihood, and sampling with temperature.

A flow maps data x to z = f(x) with a standard normal base: log p(x) = log N(f(x); 0, I) +
log |det df/dx|. On images, f first applies the logit transform to y in (0, 1)^D. Discrete
levels k in {0..B-1}^D meet the density through dequantisation, y = (k + u) / B:
  log P(k) >= E_q(u|k)[log p(y) - D log B - log q(u | k)]
(q uniform: log q = 0; variational: a conditional flow), and with K draws u_1..u_K,
log (1/K) sum_j exp(...) is a tighter bound in expectation that tends to log P(k) as K grows.
Batches are dicts with 'x' [B, ...] (images: levels k / (B - 1) in [0, 1]) and 'index' [B].
"""

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import bounds, likelihoods
from jaxgen.nn import bijectors as bj
from jaxgen.nn.made import MAFLayer

Array = jax.Array
IMAGE_ARCHITECTURES = ("realnvp", "glow")
VECTOR_ARCHITECTURES = ("maf", "realnvp")


def standard_normal_log_prob(z: Array) -> Array:
    """[B, ...] -> [B]: log N(z; 0, I) summed over every axis but the first."""
    flat = z.reshape(z.shape[0], -1)
    return likelihoods.gaussian_log_prob(flat, jnp.zeros_like(flat), jnp.zeros_like(flat), event_ndims=1)


def factor_shapes(architecture: str, shape: Sequence[int], levels: int) -> list[tuple[int, int, int]]:
    """Shapes of the latent pieces an image flow factors out, level by level (the last piece is
    what the last level keeps). RealNVP squeezes after its checkerboard couplings, Glow before
    its steps; each but the last level hands half its channels to the base distribution."""
    h, w, c = shape
    out = []
    for level in range(levels):
        last = level == levels - 1
        if architecture == "glow" or not last:
            if h % 2 or w % 2:
                raise ValueError(f"an image of shape {tuple(shape)} cannot be squeezed {levels} times: "
                                 f"{h}x{w} at level {level} is odd")
            h, w, c = h // 2, w // 2, 4 * c
        if last:
            out.append((h, w, c))
        else:
            out.append((h, w, c // 2))
            c -= c // 2
    return out


class ImageFlow(nn.Module):
    """x in (0, 1)^[H, W, C] <-> z [B, H*W*C] through a logit transform and `levels` scales.
    RealNVP level: `steps` checkerboard couplings, a squeeze, `steps` channel couplings (the last
    level: steps + 1 checkerboard couplings). Glow level: a squeeze, then `steps` of ActNorm,
    an invertible 1x1 convolution (LU with `lu`) and a channel coupling with sigmoid scale.
    RealNVP gets an ActNorm after each coupling with `actnorm`."""

    architecture: str
    data_shape: tuple[int, int, int]
    levels: int = 2
    steps: int = 4
    features: int = 64
    blocks: int = 2
    lu: bool = True
    actnorm: bool = True
    alpha: float = 0.05

    def _coupling(self, mask: str, parity: int, scale: str = "tanh") -> list:
        out = [bj.AffineCoupling(mask, parity, self.features, self.blocks, scale=scale)]
        return out + [bj.ActNorm()] if self.actnorm else out

    def setup(self):
        if self.architecture not in IMAGE_ARCHITECTURES:
            raise ValueError(f"image flow architecture {self.architecture!r}: expected one of {IMAGE_ARCHITECTURES}")
        self.pieces = factor_shapes(self.architecture, self.data_shape, self.levels)
        self.logit = bj.LogitTransform(self.alpha)
        stages = []
        for level in range(self.levels):
            last = level == self.levels - 1
            layers = []
            if self.architecture == "realnvp":
                for i in range(self.steps + (1 if last else 0)):
                    layers += self._coupling("checkerboard", i % 2)
                if not last:
                    layers.append(bj.Squeeze())
                    for i in range(self.steps):
                        layers += self._coupling("channel", i % 2)
            else:
                layers.append(bj.Squeeze())
                for i in range(self.steps):
                    layers += [bj.ActNorm(), bj.Invertible1x1Conv(self.lu, seed=1000 * level + i),
                               bj.AffineCoupling("channel", 0, self.features, self.blocks, scale="sigmoid")]
            stages.append(bj.Chain(layers))
        self.stages = stages

    def base_log_prob(self, z: Array) -> Array:
        return standard_normal_log_prob(z)

    def base_sample(self, key: Array, n: int, temperature: float, dim: int) -> Array:
        return temperature * jax.random.normal(key, (n, dim))

    def __call__(self, x: Array, inverse: bool = False, cond: None = None) -> tuple[Array, Array]:
        if cond is not None:
            raise ValueError("ImageFlow is unconditional")
        if inverse:
            return self._inverse(x)
        h, log_det = self.logit(x)
        zs = []
        for level, stage in enumerate(self.stages):
            h, ld = stage(h)
            log_det = log_det + ld
            if level < self.levels - 1:
                k = self.pieces[level][-1]
                zs.append(h[..., :k])
                h = h[..., k:]
        zs.append(h)
        return jnp.concatenate([z.reshape(z.shape[0], -1) for z in zs], -1), log_det

    def _inverse(self, z: Array) -> tuple[Array, Array]:
        sizes = [math.prod(p) for p in self.pieces]
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        part = lambda i: z[:, offsets[i]:offsets[i] + sizes[i]].reshape((z.shape[0],) + self.pieces[i])
        h = part(self.levels - 1)
        log_det = jnp.zeros(z.shape[0], z.dtype)
        for level in reversed(range(self.levels)):
            if level < self.levels - 1:
                h = jnp.concatenate([part(level), h], -1)
            h, ld = self.stages[level](h, True)
            log_det = log_det + ld
        x, ld = self.logit(h, True)
        return x, log_det + ld


class VectorFlow(nn.Module):
    """x [B, D] <-> z [B, D]: `layers` MAF layers (the order reversed between them) or RealNVP
    couplings on alternating halves, an ActNorm before each with `actnorm`. The base is N(0, I),
    or with `base_components` = K > 0 a learned mixture of K diagonal Gaussians (MAF MoG,
    Papamakarios et al. 2017; the flow family initialises it by EM on the first batch's codes);
    temperature T scales its standard deviations."""

    architecture: str
    layers: int = 5
    hidden: Sequence[int] = (64, 64)
    actnorm: bool = False
    base_components: int = 0
    dim: int = 2  # of the data (the mixture base's parameters need it)

    def _mixture(self) -> tuple[Array, Array, Array]:
        return jax.nn.log_softmax(self.base_logits), self.base_means, self.base_log_scales

    def base_log_prob(self, z: Array) -> Array:
        if not self.base_components:
            return standard_normal_log_prob(z)
        log_w, means, log_scales = self._mixture()
        comp = likelihoods.gaussian_log_prob(z[:, None, :], means[None], log_scales[None], event_ndims=1)  # [B, K]
        return jax.scipy.special.logsumexp(comp + log_w, axis=-1)

    def base_sample(self, key: Array, n: int, temperature: float, dim: int) -> Array:
        noise = temperature * jax.random.normal(jax.random.fold_in(key, 0), (n, dim))
        if not self.base_components:
            return noise
        log_w, means, log_scales = self._mixture()
        c = jax.random.categorical(jax.random.fold_in(key, 1), log_w, shape=(n,))
        return means[c] + jnp.exp(log_scales[c]) * noise

    def setup(self):
        if self.architecture not in VECTOR_ARCHITECTURES:
            raise ValueError(f"vector flow architecture {self.architecture!r}: expected one of {VECTOR_ARCHITECTURES}")
        if self.base_components:
            k, d = self.base_components, self.dim
            self.base_logits = self.param("base_logits", nn.initializers.zeros_init(), (k,))
            self.base_means = self.param("base_means", nn.initializers.normal(1.0), (k, d))
            self.base_log_scales = self.param("base_log_scales", nn.initializers.zeros_init(), (k, d))
        chain = []
        for i in range(self.layers):
            chain += [bj.ActNorm()] if self.actnorm else []
            if self.architecture == "maf":
                chain += [MAFLayer(self.hidden), bj.Reverse()]
            else:
                chain.append(bj.AffineCoupling("half", i % 2, hidden=self.hidden))
        self.chain = bj.Chain(chain)

    def __call__(self, x: Array, inverse: bool = False, cond: Array | None = None) -> tuple[Array, Array]:
        return self.chain(x, inverse, cond)


class Dequantizer(nn.Module):
    """q(u | k) of variational dequantisation: eps ~ N(0, I) through `steps` checkerboard
    couplings conditioned on convolutional features of the levels, then a sigmoid into (0, 1).
    Returns (u, log q(u | k)) = (sigmoid(v), log N(eps) - log |dv/deps| - log |du/dv|)."""

    steps: int = 4
    features: int = 32
    blocks: int = 1

    @nn.compact
    def __call__(self, eps: Array, x: Array) -> tuple[Array, Array]:
        h = nn.relu(nn.Conv(self.features, (3, 3))(x))
        h = nn.Conv(self.features, (3, 3))(h)
        layers = []
        for i in range(self.steps):
            layers += [bj.AffineCoupling("checkerboard", i % 2, self.features, self.blocks), bj.ActNorm()]
        v, log_det = bj.Chain(layers)(eps, False, h)
        log_q = standard_normal_log_prob(eps) - log_det
        log_q = log_q - jnp.sum((jax.nn.log_sigmoid(v) + jax.nn.log_sigmoid(-v)).reshape(v.shape[0], -1), -1)
        return jax.nn.sigmoid(v), log_q


def density(flow: nn.Module) -> Callable:
    """(flow params, x [B, ...]) -> log p(x) [B] (x in (0, 1) for an image flow)."""

    def log_p(params, x):
        return density_and_monitors(flow)(params, x)[0]

    return log_p


def density_and_monitors(flow: nn.Module) -> Callable:
    """(flow params, x) -> (log p(x) [B], {'min_log_abs_det_w': the smallest log |det W| of the
    invertible 1x1 convolutions}, empty without them)."""

    def fn(params, x):
        (z, log_det), state = flow.apply(params, x, mutable=["intermediates"])
        dets = jax.tree.leaves(state.get("intermediates", {}))
        monitors = {"min_log_abs_det_w": jnp.min(jnp.stack(dets))} if dets else {}
        return flow.apply(params, z, method=type(flow).base_log_prob) + log_det, monitors

    return fn


def levels_of(x: Array, num_bins: int) -> Array:
    """Stored images k / (B - 1) -> the integer levels k (as floats)."""
    return jnp.round(x * (num_bins - 1))


def dequantized_log_weights(flow: nn.Module, deq: Dequantizer | None, num_bins: int) -> Callable:
    """(params, x [B, H, W, C] stored levels, keys [B], draw j) -> (log w_j [B], monitors), with
    log w_j = log p((k + u) / B) - D log B - log q(u | k) and u drawn from the example key
    fold_in(key, j): uniform, or from the dequantiser. Its mean over u is a lower bound on log P(k)."""
    log_p = density_and_monitors(flow)

    def log_w(params, x, keys, j):
        k = levels_of(x, num_bins)
        draw = jax.vmap(lambda key: jax.random.fold_in(key, j))(keys)
        if deq is None:
            u = rng_lib.per_example_uniform(draw, x.shape[1:])
            log_q = jnp.zeros(x.shape[0], x.dtype)
        else:
            eps = rng_lib.per_example_normal(draw, x.shape[1:])
            u, log_q = deq.apply(params["deq"], eps, x)
        dims = math.prod(x.shape[1:])
        lp, monitors = log_p(params["flow"], (k + u) / num_bins)
        return lp - dims * math.log(num_bins) - log_q, monitors

    return log_w


def make_loss_fn(flow: nn.Module, deq: Dequantizer | None, num_bins: int | None) -> Callable:
    """loss_fn(params, batch, rng) -> (bits/dim, metrics): one dequantisation draw per example
    (num_bins given: discrete images) or the exact log-density (num_bins None: continuous data).
    Metrics: bpd, nll (nats) and, for flows with invertible 1x1 convolutions, min_log_abs_det_w
    (finite while every W stays invertible; a singular W makes the loss non-finite, which stops
    the loop)."""
    log_w = dequantized_log_weights(flow, deq, num_bins) if num_bins else None

    def loss_fn(params, batch, rng):
        x = batch["x"]
        if log_w is not None:
            lp, monitors = log_w(params, x, rng_lib.example_keys(rng, batch["index"]), 0)
        else:
            lp, monitors = density_and_monitors(flow)(params["flow"], x)
        nll = -jnp.mean(lp)
        bpd = nll / (math.prod(x.shape[1:]) * math.log(2.0))
        return bpd, {"loss": bpd, "bpd": bpd, "nll": nll, **monitors}

    return loss_fn


def make_log_prob_fn(flow: nn.Module, deq: Dequantizer | None, num_bins: int | None, samples: int) -> Callable:
    """(params, batch, key) -> {'log_prob': [B], 'bound': [B]}: discrete images: the
    importance-weighted estimate over `samples` dequantisation draws (a lower bound in
    expectation) and the single-draw bound averaged over them; continuous data: the exact log p."""
    if not num_bins:
        return lambda params, batch, key: {"log_prob": density(flow)(params["flow"], batch["x"])}
    log_w = dequantized_log_weights(flow, deq, num_bins)

    def fn(params, batch, key):
        keys = rng_lib.example_keys(key, batch["index"])
        ws = jax.lax.map(lambda j: log_w(params, batch["x"], keys, j)[0], jnp.arange(samples))  # [S, B]
        return {"log_prob": bounds.log_mean_exp(ws, axis=0), "bound": jnp.mean(ws, 0)}

    return fn


def make_sample_fn(flow: nn.Module, shape: Sequence[int], num_bins: int | None) -> Callable:
    """(params, key, n, temperature) -> [n, *shape]: z from the base at temperature T (N(0, T^2 I)
    for a Gaussian base) through the inverse flow; images are the levels floor(B y) / (B - 1) of y
    in (0, 1), vectors are returned as they are."""
    dims = math.prod(shape)

    def sample(params, key, n, temperature=1.0):
        z = flow.apply(params["flow"], key, n, temperature, dims, method=type(flow).base_sample)
        x, _ = flow.apply(params["flow"], z, True)
        if num_bins:
            x = jnp.clip(jnp.floor(x * num_bins), 0, num_bins - 1) / (num_bins - 1)
        return x.reshape((n,) + tuple(shape))

    return sample
