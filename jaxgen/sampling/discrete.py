"""Inverse-CDF sampling, discrete and continuous.

Discrete: draw u ~ U[0, 1) and return the first index whose cumulative probability
exceeds u. Continuous: x = F^{-1}(u) for a distribution with a known (or numerically
inverted) CDF F.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

Array = jax.Array


def inverse_cdf_categorical(key: Array, probs: Array, shape: tuple[int, ...] = ()) -> Array:
    """Categorical draws by inverse CDF.

    Args:
      key: PRNG key.
      probs: [..., K] non-negative weights (normalised here; need not sum to 1).
      shape: sample shape, prepended: the result is [*shape, *probs.shape[:-1]].

    Returns:
      int32 indices in [0, K).
    """
    probs = jnp.asarray(probs)
    cdf = jnp.cumsum(probs, -1)
    cdf = cdf / cdf[..., -1:]
    u = jax.random.uniform(key, tuple(shape) + probs.shape[:-1], dtype=cdf.dtype)
    # number of cumulative sums <= u = the first index whose CDF exceeds u
    idx = jnp.sum(u[..., None] >= cdf, axis=-1)
    return jnp.minimum(idx, probs.shape[-1] - 1).astype(jnp.int32)  # u rounding past cdf[-1]


def inverse_cdf(key: Array, icdf: Callable[[Array], Array], shape: tuple[int, ...] = (), dtype=jnp.float32) -> Array:
    """Continuous draws x = icdf(u), u ~ U(0, 1) (endpoints excluded)."""
    tiny = jnp.finfo(dtype).tiny
    u = jax.random.uniform(key, shape, dtype=dtype, minval=tiny, maxval=1.0)
    return icdf(u)


# Closed-form inverse CDFs (standard parameters; shift and scale outside).
ICDF: dict[str, Callable[[Array], Array]] = {
    "normal": ndtri,
    "exponential": lambda u: -jnp.log1p(-u),
    "logistic": lambda u: jnp.log(u) - jnp.log1p(-u),
    "cauchy": lambda u: jnp.tan(jnp.pi * (u - 0.5)),
    "laplace": lambda u: -jnp.sign(u - 0.5) * jnp.log1p(-2.0 * jnp.abs(u - 0.5)),
    "gumbel": lambda u: -jnp.log(-jnp.log(u)),
}


def numerical_icdf(cdf: Callable[[Array], Array], lo: float, hi: float, iters: int = 60) -> Callable[[Array], Array]:
    """F^{-1} by bisection for a continuous, non-decreasing `cdf` with all mass in [lo, hi].

    Each iteration halves the bracket: after `iters` the error is (hi - lo) / 2**iters
    (or float resolution)."""

    def icdf(u: Array) -> Array:
        def body(_, bracket):
            a, b = bracket
            mid = 0.5 * (a + b)
            below = cdf(mid) < u
            return jnp.where(below, mid, a), jnp.where(below, b, mid)

        a0 = jnp.full(jnp.shape(u), lo, dtype=jnp.result_type(u, float))
        a, b = jax.lax.fori_loop(0, iters, body, (a0, jnp.full_like(a0, hi)))
        return 0.5 * (a + b)

    return icdf
