"""Hidden Markov models: forward, backward, posteriors, Viterbi, sampling and Baum-Welch.

Emissions: 'categorical' (a table [S, V]) or Gaussian mixtures per state (`GMM` params with
a leading state axis; one component = Gaussian emissions, any covariance type).

Batches of variable-length sequences are padded at the end: x [N, T, ...] with a mask
[N, T] (True on real steps, at least the first). Recursions run under `lax.scan` and are
vmapped over sequences. Everything stays in log space: the forward pass keeps normalised
log alpha_t and the log normalisers log c_t (log p(x) = sum_t log c_t); emissions are
never exponentiated, so 784-dimensional Gaussian emissions do not underflow.
"""

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import logsumexp

from jaxgen.classical.gmm import GMM
from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array
EMISSIONS = ("categorical", "gmm")


@struct.dataclass
class HMM:
    log_init: Array  # [S] log p(z_0)
    log_trans: Array  # [S, S] log p(z_t = j | z_{t-1} = i)
    emission: Array | GMM  # categorical: [S, V] log probs; gmm: GMM with leading axis S

    @property
    def num_states(self) -> int:
        return self.log_init.shape[0]

    def emission_log_prob(self, x: Array) -> Array:
        """[N, T, ...] observations -> [N, T, S] log p(x_t | z_t = s)."""
        if isinstance(self.emission, GMM):
            n, t, d = x.shape
            flat = jax.vmap(lambda g: g.log_prob(x.reshape(n * t, d)))(self.emission)  # [S, N T]
            return flat.T.reshape(n, t, -1)
        return jnp.moveaxis(self.emission[:, x], 0, -1)

    def log_prob(self, x: Array, mask: Array | None = None) -> Array:
        """[N] log p(x_{1:T_n}) per sequence."""
        return jax.vmap(forward_log_likelihood, in_axes=(None, None, 0, 0))(
            self.log_init, self.log_trans, self.emission_log_prob(x), _mask(x, mask))

    def posterior(self, x: Array, mask: Array | None = None) -> Array:
        """[N, T, S] p(z_t | x) (padding steps are 0)."""
        post = jax.vmap(forward_backward, in_axes=(None, None, 0, 0))(
            self.log_init, self.log_trans, self.emission_log_prob(x), _mask(x, mask))
        return post.gamma

    def predict(self, x: Array, mask: Array | None = None) -> tuple[Array, Array]:
        """Viterbi: ([N, T] most probable state paths, [N] their joint log-probabilities)."""
        return jax.vmap(viterbi, in_axes=(None, None, 0, 0))(
            self.log_init, self.log_trans, self.emission_log_prob(x), _mask(x, mask))

    def sample(self, key: Array, n: int, length: int) -> tuple[Array, Array]:
        """(observations [n, length, ...], states [n, length])."""
        k_z, k_x = jax.random.split(key)
        states = jax.vmap(lambda k: _sample_states(k, self.log_init, self.log_trans, length))(
            jax.random.split(k_z, n))
        if isinstance(self.emission, GMM):
            x = jax.vmap(lambda k, s: _sample_gmm_rows(k, self.emission, s))(jax.random.split(k_x, n), states)
        else:
            x = inverse_cdf_categorical(k_x, jnp.exp(self.emission[states]))
        return x, states


def _mask(x, mask):
    return jnp.ones(x.shape[:2], bool) if mask is None else jnp.asarray(mask, bool)


def _sample_states(key, log_init, log_trans, length):
    k0, k_rest = jax.random.split(key)
    z0 = inverse_cdf_categorical(k0, jnp.exp(log_init))

    def step(z, k):
        z = inverse_cdf_categorical(k, jnp.exp(log_trans[z]))
        return z, z

    _, zs = jax.lax.scan(step, z0, jax.random.split(k_rest, length - 1))
    return jnp.concatenate([z0[None], zs])


def _sample_gmm_rows(key, gmm: GMM, states):
    """One draw from the emission mixture of each state in `states` [T]."""
    keys = jax.random.split(key, states.shape[0])
    return jax.vmap(lambda k, s: jax.tree.map(lambda a: a[s], gmm).sample(k, 1)[0])(keys, states)


def _log_matvec(log_v: Array, log_m: Array) -> Array:
    """log(exp(log_v) @ exp(log_m)) for a vector log_v [S] that is at most 0 somewhere."""
    m = jnp.max(log_v)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    return jnp.log(jnp.exp(log_v - m) @ jnp.exp(log_m)) + m


def forward(log_init: Array, log_trans: Array, log_b: Array, mask: Array) -> tuple[Array, Array]:
    """Normalised forward pass for one sequence.

    Args:
      log_init: [S]; log_trans: [S, S]; log_b: [T, S] emission log-likelihoods;
      mask: [T] bool, True on real steps (padding only at the end).

    Returns:
      (log alpha_hat [T, S]: log p(z_t | x_{1:t}), log c [T]: log p(x_t | x_{1:t-1}), 0 on padding).
    """
    a0 = log_init + log_b[0]
    c0 = logsumexp(a0)

    def step(la, inputs):
        lb, m = inputs
        a = _log_matvec(la, log_trans) + lb
        c = logsumexp(a)
        new = jnp.where(m, a - c, la)
        return new, (new, jnp.where(m, c, 0.0))

    _, (la, lc) = jax.lax.scan(step, a0 - c0, (log_b[1:], mask[1:]))
    return jnp.concatenate([(a0 - c0)[None], la]), jnp.concatenate([c0[None], lc])


def forward_log_likelihood(log_init, log_trans, log_b, mask) -> Array:
    """log p(x_{1:T}) of one sequence."""
    return jnp.sum(forward(log_init, log_trans, log_b, mask)[1])


def backward(log_trans: Array, log_b: Array, log_c: Array, mask: Array) -> Array:
    """Normalised backward pass: log beta_hat [T, S] (0 on padding and at the last step),
    beta_hat_t = p(x_{t+1:T} | z_t) / prod_{s > t} c_s."""

    def step(lbeta_next, inputs):
        lb_next, lc_next, m_next = inputs
        lbeta = _log_matvec(lb_next + lbeta_next, log_trans.T) - lc_next
        lbeta = jnp.where(m_next, lbeta, 0.0)
        return lbeta, lbeta

    s = log_trans.shape[0]
    _, lbeta = jax.lax.scan(step, jnp.zeros(s), (log_b[1:], log_c[1:], mask[1:]), reverse=True)
    return jnp.concatenate([lbeta, jnp.zeros((1, s))])


@struct.dataclass
class Posteriors:
    gamma: Array  # [T, S] p(z_t | x), 0 on padding
    xi_sum: Array  # [S, S] sum_t p(z_{t-1} = i, z_t = j | x)
    log_likelihood: Array  # scalar log p(x)


def forward_backward(log_init, log_trans, log_b, mask) -> Posteriors:
    """State and transition posteriors of one sequence (the E-step of Baum-Welch)."""
    la, lc = forward(log_init, log_trans, log_b, mask)
    lbeta = backward(log_trans, log_b, lc, mask)
    gamma = jnp.exp(la + lbeta) * mask[:, None]
    # xi_t(i, j) = alpha_hat_{t-1}(i) A_ij b_t(j) beta_hat_t(j) / c_t for real steps t >= 1
    log_xi = la[:-1, :, None] + log_trans[None] + (log_b[1:] + lbeta[1:] - lc[1:, None])[:, None, :]
    xi_sum = jnp.sum(jnp.exp(log_xi) * mask[1:, None, None], 0)
    return Posteriors(gamma, xi_sum, jnp.sum(lc))


def viterbi(log_init, log_trans, log_b, mask) -> tuple[Array, Array]:
    """Most probable state path of one sequence ([T]; padding repeats the last real state)
    and its joint log-probability log p(x, z*)."""
    s = log_init.shape[0]

    def step(delta, inputs):
        lb, m = inputs
        scores = delta[:, None] + log_trans  # [from, to]
        best = jnp.argmax(scores, 0)
        new = jnp.max(scores, 0) + lb
        return jnp.where(m, new, delta), jnp.where(m, best, jnp.arange(s))

    delta, back = jax.lax.scan(step, log_init + log_b[0], (log_b[1:], mask[1:]))
    last = jnp.argmax(delta)

    def trace(z, bp):
        prev = bp[z]
        return prev, prev

    _, path = jax.lax.scan(trace, last, back, reverse=True)
    return jnp.concatenate([path, last[None]]), jnp.max(delta)


def delay_embed(x: Array, order: int) -> Array:
    """[T, D] sequence -> [T - order + 1, order D] windows (x_t, ..., x_{t+order-1}): the
    view of a sequence as i.i.d. vectors that a GMM (or any density model) can fit."""
    t = x.shape[0]
    if not 1 <= order <= t:
        raise ValueError(f"order must be in [1, T={t}], got {order}")
    idx = jnp.arange(t - order + 1)[:, None] + jnp.arange(order)[None]
    return x[idx].reshape(t - order + 1, -1)
