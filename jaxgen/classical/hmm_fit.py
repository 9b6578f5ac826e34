"""Baum-Welch (EM) for hidden Markov models, on padded batches of sequences."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxgen.classical.gmm import COVARIANCE_TYPES, GMM, kmeans
from jaxgen.classical.gmm import m_step as gmm_m_step
from jaxgen.classical.hmm import EMISSIONS, HMM, forward_backward

Array = jax.Array


class BaumWelchTrace(NamedTuple):
    log_likelihood: Array  # [max_iter] total log p(x) before each M-step (NaN after the stop)
    num_iters: Array
    converged: Array


def _stats(params: HMM, x, mask):
    post = jax.vmap(forward_backward, in_axes=(None, None, 0, 0))(
        params.log_init, params.log_trans, params.emission_log_prob(x), mask)
    return post


def m_step(params: HMM, x: Array, mask: Array, post, reg_covar: float = 1e-3, pseudocount: float = 0.0) -> HMM:
    """New parameters from the posteriors of every sequence (gamma [N, T, S], xi sums [N, S, S])."""
    tiny = jnp.finfo(jnp.float32).tiny
    init = jnp.sum(post.gamma[:, 0], 0) + pseudocount
    trans = jnp.sum(post.xi_sum, 0) + pseudocount
    log_init = jnp.log(jnp.maximum(init, tiny)) - jnp.log(jnp.sum(init))
    log_trans = jnp.log(jnp.maximum(trans, tiny)) - jnp.log(jnp.maximum(jnp.sum(trans, 1, keepdims=True), tiny))
    s = params.num_states
    gamma = post.gamma.reshape(-1, s)  # [N T, S], zero on padding
    if isinstance(params.emission, jax.Array):
        v = params.emission.shape[1]
        counts = gamma.T @ jax.nn.one_hot(x.reshape(-1), v) + pseudocount  # [S, V]
        emission = jnp.log(jnp.maximum(counts, tiny)) - jnp.log(jnp.sum(counts, 1, keepdims=True))
    else:
        flat = x.reshape(-1, x.shape[-1])

        def state(g, w):  # w [N T]: this state's share of each observation
            resp = w[:, None] * g.posterior(flat)
            return gmm_m_step(flat, resp, g.covariance_type, reg_covar)

        emission = jax.vmap(state, in_axes=(0, 1))(params.emission, gamma)
    return HMM(log_init, log_trans, emission)


def baum_welch(params: HMM, x: Array, mask: Array | None = None, max_iter: int = 100, tol: float = 1e-2,
               reg_covar: float = 1e-3, pseudocount: float = 0.0) -> tuple[HMM, BaumWelchTrace]:
    """EM from `params` until the total log-likelihood changes by less than `tol` (nats, as
    hmmlearn) or `max_iter` iterations."""
    mask = jnp.ones(x.shape[:2], bool) if mask is None else jnp.asarray(mask, bool)

    def cond(c):
        return (c[1] < max_iter) & ~c[4]

    def body(c):
        p, i, prev, trace, _ = c
        post = _stats(p, x, mask)
        ll = jnp.sum(post.log_likelihood)
        p = m_step(p, x, mask, post, reg_covar, pseudocount)
        return p, i + 1, ll, trace.at[i].set(ll), jnp.abs(ll - prev) < tol

    trace0 = jnp.full((max_iter,), jnp.nan)
    params, n, _, trace, done = jax.lax.while_loop(
        cond, body, (params, jnp.int32(0), jnp.array(-jnp.inf), trace0, jnp.array(False)))
    return params, BaumWelchTrace(trace, n, done)


def init_hmm(key: Array, x: Array, mask: Array, num_states: int, emission: str = "gmm", num_mix: int = 1,
             covariance_type: str = "diag", num_symbols: int | None = None) -> HMM:
    """Random Dirichlet(1) start and transition rows (plus a self-transition bias);
    categorical emissions from Dirichlet(1) rows; Gaussian-mixture emissions with k-means
    centres of the observed frames (S * M of them) and the data's variance."""
    k_pi, k_a, k_e = jax.random.split(key, 3)
    s = num_states
    log_init = jnp.log(jax.random.dirichlet(k_pi, jnp.ones(s)))
    log_trans = jnp.log(0.5 * jax.random.dirichlet(k_a, jnp.ones(s), (s,)) + 0.5 * jnp.eye(s))
    if emission == "categorical":
        return HMM(log_init, log_trans, jnp.log(jax.random.dirichlet(k_e, jnp.ones(num_symbols), (s,))))
    flat = x.reshape(-1, x.shape[-1])
    w = mask.reshape(-1).astype(flat.dtype)
    mean = jnp.sum(w[:, None] * flat, 0) / jnp.sum(w)
    var = jnp.sum(w[:, None] * (flat - mean) ** 2, 0) / jnp.sum(w) + 1e-3
    centres = kmeans(k_e, flat, s * num_mix).reshape(s, num_mix, -1)
    d = flat.shape[1]
    scale = {"full": jnp.broadcast_to(jnp.diag(jnp.sqrt(var)), (s, num_mix, d, d)),
             "diag": jnp.broadcast_to(jnp.sqrt(var), (s, num_mix, d)),
             "spherical": jnp.full((s, num_mix), jnp.sqrt(jnp.mean(var))),
             "tied": jnp.broadcast_to(jnp.diag(jnp.sqrt(var)), (s, d, d))}[covariance_type]
    log_w = jnp.full((s, num_mix), -jnp.log(num_mix))
    return HMM(log_init, log_trans, GMM(log_w, centres, scale, covariance_type))


@functools.partial(jax.jit, static_argnames=("num_states", "emission", "num_mix", "covariance_type", "num_symbols",
                                             "max_iter"))
def _fit(key, x, mask, num_states, emission, num_mix, covariance_type, num_symbols, max_iter, tol, reg_covar,
         pseudocount):
    p0 = init_hmm(key, x, mask, num_states, emission, num_mix, covariance_type, num_symbols)
    return baum_welch(p0, x, mask, max_iter, tol, reg_covar, pseudocount)


def fit_hmm(key: Array, x: Array, num_states: int, mask: Array | None = None, emission: str = "gmm",
            num_mix: int = 1, covariance_type: str = "diag", num_symbols: int | None = None, max_iter: int = 100,
            tol: float = 1e-2, reg_covar: float = 1e-3, pseudocount: float = 0.0) -> tuple[HMM, BaumWelchTrace]:
    """Fit an HMM by Baum-Welch.

    Args:
      key: PRNG key (initialisation).
      x: [N, T] ints (categorical) or [N, T, D] floats (Gaussian mixtures), padded at the end.
      num_states: S.
      mask: [N, T] bool, True on real steps (default: all).
      emission: 'categorical' or 'gmm' (num_mix = 1: Gaussian emissions).
      covariance_type: of the Gaussian emissions (gmm.COVARIANCE_TYPES).
      num_symbols: V for categorical emissions (default max(x) + 1).
    """
    if emission not in EMISSIONS:
        raise ValueError(f"unknown emission {emission!r}; expected one of {EMISSIONS}")
    x = jnp.asarray(x)
    want = 2 if emission == "categorical" else 3
    if x.ndim != want:
        raise ValueError(f"{emission} emissions need x of rank {want} ([N, T{'' if want == 2 else ', D'}]), "
                         f"got shape {x.shape}")
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}; expected one of {COVARIANCE_TYPES}")
    if num_states < 1 or num_mix < 1:
        raise ValueError(f"num_states and num_mix must be >= 1, got {num_states}, {num_mix}")
    mask = jnp.ones(x.shape[:2], bool) if mask is None else jnp.asarray(mask, bool)
    if mask.shape != x.shape[:2] or not bool(jnp.all(mask[:, 0])):
        raise ValueError(f"mask must be [N, T] = {x.shape[:2]} with every sequence's first step real, "
                         f"got shape {mask.shape}")
    if emission == "categorical":
        num_symbols = int(jnp.max(x)) + 1 if num_symbols is None else num_symbols
    else:
        x = x.astype(jnp.float32)
    return _fit(key, x, mask, num_states, emission, num_mix, covariance_type, num_symbols, max_iter, tol, reg_covar,
                pseudocount)
