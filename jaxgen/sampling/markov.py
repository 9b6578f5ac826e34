"""Finite Markov chains.

Convention: `transition[i, j] = p(x_{t+1} = j | x_t = i)` (rows sum to 1). A distribution
is a row vector and one step maps pi -> pi P; the stationary distribution solves
pi = pi P, i.e. pi = P^T pi in the column convention of some textbooks.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array


def simulate_chain(key: Array, transition: Array, init: Array, num_steps: int) -> Array:
    """Simulate a chain for `num_steps` transitions.

    Args:
      key: PRNG key.
      transition: [S, S] row-stochastic matrix.
      init: an int start state, or [S] initial distribution (then x_0 is drawn from it).
      num_steps: number of transitions.

    Returns:
      [num_steps + 1] int32 states x_0..x_T.
    """
    transition = jnp.asarray(transition)
    init = jnp.asarray(init)
    k0, k_steps = jax.random.split(key)
    x0 = inverse_cdf_categorical(k0, init) if init.ndim == 1 else init.astype(jnp.int32)

    def step(x, k):
        nxt = inverse_cdf_categorical(k, transition[x])
        return nxt, nxt

    _, xs = jax.lax.scan(step, x0, jax.random.split(k_steps, num_steps))
    return jnp.concatenate([x0[None], xs])


def is_regular(transition) -> bool:
    """Whether some power of the chain's matrix is strictly positive (a regular, i.e.
    irreducible and aperiodic, chain: a unique stationary distribution that every start
    converges to). Wielandt: if any power is positive, P^m is for m = (S - 1)^2 + 1;
    computed on the 0/1 pattern by repeated squaring (host-side check)."""
    pattern = (np.asarray(transition) > 0).astype(np.float64)
    s = pattern.shape[0]
    m = (s - 1) ** 2 + 1
    power = 1
    while power < m:  # P^(2^j) with 2^j >= m; positivity persists for every power >= m
        pattern = (pattern @ pattern > 0).astype(np.float64)
        power *= 2
    return bool(pattern.all())


def stationary_distribution(transition, check_regular: bool = True) -> Array:
    """The distribution pi with pi = pi P and sum(pi) = 1.

    Solves (P^T - I) pi = 0 with one equation replaced by the normalisation. With
    `check_regular` (host-side), a chain that is not regular (several stationary
    distributions, or a periodic chain whose distribution never converges) is refused
    with a ValueError instead of returning one arbitrary solution.
    """
    p = jnp.asarray(transition)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"transition must be a square [S, S] matrix, got shape {p.shape}")
    if check_regular:
        rows = np.asarray(p).sum(1)
        if not np.allclose(rows, 1.0, atol=1e-5) or (np.asarray(p) < 0).any():
            raise ValueError(f"transition rows must be probability vectors; row sums {rows}")
        if not is_regular(p):
            raise ValueError("the chain is not regular (no power of P is strictly positive): the stationary "
                             "distribution is not unique or the chain does not converge to it")
    s = p.shape[0]
    a = (p.T - jnp.eye(s, dtype=p.dtype)).at[-1].set(1.0)
    b = jnp.zeros(s, p.dtype).at[-1].set(1.0)
    return jnp.linalg.solve(a, b)
