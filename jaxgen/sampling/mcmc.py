"""Markov chain Monte Carlo: Metropolis-Hastings, Gibbs sweeps, Langevin dynamics, MALA.

Every sampler runs one chain under `lax.scan`; vmap it over keys and initial states for
many chains. Targets are unnormalised log densities `log_prob(x) -> scalar`.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
# A proposal: (key, x) -> (x_proposed, log q(x | x_proposed) - log q(x_proposed | x)).
Proposal = Callable[[Array, Array], tuple[Array, Array]]


class Chain(NamedTuple):
    samples: Array  # [num_steps, *x.shape] the state after each step
    accept_rate: Array  # scalar: fraction of accepted proposals (1 for Gibbs / Langevin)


def random_walk_kernel(step_size: float) -> Proposal:
    """Gaussian random-walk proposal x' = x + step_size * eps (symmetric: log ratio 0)."""

    def propose(key, x):
        return x + step_size * jax.random.normal(key, x.shape, x.dtype), jnp.zeros((), x.dtype)

    return propose


def _mh_step(log_prob, propose, key, x, logp_x):
    k_prop, k_acc = jax.random.split(key)
    y, log_q_ratio = propose(k_prop, x)
    logp_y = log_prob(y)
    log_alpha = logp_y - logp_x + log_q_ratio
    accept = jnp.log(jax.random.uniform(k_acc, dtype=logp_x.dtype)) < log_alpha
    return jnp.where(accept, y, x), jnp.where(accept, logp_y, logp_x), accept


def metropolis_hastings(key: Array, log_prob: Callable, init: Array, num_steps: int,
                        proposal: Proposal | float = 1.0) -> Chain:
    """Metropolis-Hastings: propose x' ~ q(.|x), accept with probability
    min(1, p(x') q(x|x') / (p(x) q(x'|x))).

    Args:
      key: PRNG key.
      log_prob: x -> unnormalised log density.
      init: starting state (any shape).
      num_steps: number of proposals.
      proposal: a `Proposal`, or a float: the step size of a Gaussian random walk.
    """
    propose = random_walk_kernel(proposal) if isinstance(proposal, (int, float)) else proposal
    init = jnp.asarray(init, jnp.result_type(init, float))

    def step(carry, k):
        x, lp = carry
        x, lp, acc = _mh_step(log_prob, propose, k, x, lp)
        return (x, lp), (x, acc)

    _, (xs, acc) = jax.lax.scan(step, (init, log_prob(init)), jax.random.split(key, num_steps))
    return Chain(xs, jnp.mean(acc.astype(jnp.float32)))


def gibbs(key: Array, sample_conditional: Callable[[Array, Array, Array], Array], init: Array,
          num_sweeps: int) -> Chain:
    """Gibbs sampling with systematic sweeps: for i = 0..D-1, x_i ~ p(x_i | x_-i).

    Args:
      key: PRNG key.
      sample_conditional: (key, x, i) -> a draw of coordinate i given the others ([D] x,
        traced int i; return a scalar of x's dtype).
      init: [D] starting state.
      num_sweeps: full sweeps; the state is recorded after each.
    """
    init = jnp.asarray(init)
    d = init.shape[0]

    def sweep(x, k):
        def site(i, x):
            return x.at[i].set(sample_conditional(jax.random.fold_in(k, i), x, i))

        x = jax.lax.fori_loop(0, d, site, x)
        return x, x

    _, xs = jax.lax.scan(sweep, init, jax.random.split(key, num_sweeps))
    return Chain(xs, jnp.ones((), jnp.float32))


def _langevin_move(grad_log_prob, key, x, step_size):
    noise = jax.random.normal(key, x.shape, x.dtype)
    return x + step_size * grad_log_prob(x) + jnp.sqrt(2.0 * step_size) * noise


def langevin(key: Array, log_prob: Callable, init: Array, num_steps: int, step_size: float) -> Chain:
    """Unadjusted Langevin dynamics: x' = x + eps * grad log p(x) + sqrt(2 eps) * N(0, I).

    Biased for any eps > 0 (no accept/reject); MALA removes the bias."""
    grad = jax.grad(log_prob)
    init = jnp.asarray(init, jnp.result_type(init, float))

    def step(x, k):
        x = _langevin_move(grad, k, x, step_size)
        return x, x

    _, xs = jax.lax.scan(step, init, jax.random.split(key, num_steps))
    return Chain(xs, jnp.ones((), jnp.float32))


def mala_kernel(log_prob: Callable, step_size: float) -> Proposal:
    """The Langevin proposal N(x + eps grad log p(x), 2 eps I) with its Hastings ratio."""
    grad = jax.grad(log_prob)

    def log_q(to, frm):  # log N(to; frm + eps grad(frm), 2 eps I) up to a constant
        return -jnp.sum((to - frm - step_size * grad(frm)) ** 2) / (4.0 * step_size)

    def propose(key, x):
        y = _langevin_move(grad, key, x, step_size)
        return y, log_q(x, y) - log_q(y, x)

    return propose


def mala(key: Array, log_prob: Callable, init: Array, num_steps: int, step_size: float) -> Chain:
    """Metropolis-adjusted Langevin algorithm (Roberts & Tweedie 1996): the Langevin move
    as a Metropolis-Hastings proposal, exact stationary distribution for any step size."""
    return metropolis_hastings(key, log_prob, init, num_steps, mala_kernel(log_prob, step_size))
