"""Boltzmann machines over binary units, exact by enumeration for small models.

Energy E(x) = -sum_{i<j} W_ij x_i x_j - b.x = -x^T W x / 2 - b.x (W symmetric, zero
diagonal) over units in {0, 1} or {-1, +1} (`spin=True`). With hidden units the first
`num_visible` units are observed: p(v) = sum_h exp(-E(v, h)) / Z. The partition function is
a logsumexp over all 2^n states (n <= MAX_ENUMERATE units); Gibbs sampling works at any size.
Learning follows the exact log-likelihood gradient <x x^T>_data - <x x^T>_model (Ackley,
Hinton & Sejnowski 1985), with both expectations by enumeration.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxgen.sampling.mcmc import gibbs

Array = jax.Array
MAX_ENUMERATE = 20


def all_states(n: int, spin: bool = False) -> Array:
    """[2^n, n] every binary vector, in {0, 1} or {-1, +1}."""
    if n > MAX_ENUMERATE:
        raise ValueError(f"enumerating 2^{n} states is too many (at most {MAX_ENUMERATE} units)")
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[::-1]) & 1
    return jnp.asarray(2 * bits - 1 if spin else bits, jnp.float32)


@struct.dataclass
class BoltzmannMachine:
    w: Array  # [n, n] symmetric, zero diagonal
    b: Array  # [n]
    num_visible: int = struct.field(pytree_node=False, default=0)  # 0: all units visible
    spin: bool = struct.field(pytree_node=False, default=False)

    @property
    def num_units(self) -> int:
        return self.b.shape[0]

    @property
    def visible(self) -> int:
        return self.num_visible or self.num_units

    def energy(self, x: Array) -> Array:
        """[..., n] full states -> [...]."""
        return -0.5 * jnp.einsum("...i,ij,...j->...", x, self.w, x) - x @ self.b

    def log_partition(self) -> Array:
        return jax.scipy.special.logsumexp(-self.energy(all_states(self.num_units, self.spin)))

    def _hidden_states(self):
        return all_states(self.num_units - self.visible, self.spin)

    def _full(self, v):  # [N, V] -> [N, 2^H, n]
        h = self._hidden_states()
        return jnp.concatenate([jnp.broadcast_to(v[:, None], (v.shape[0], h.shape[0], v.shape[1])),
                                jnp.broadcast_to(h[None], (v.shape[0],) + h.shape)], -1)

    def log_prob(self, v: Array) -> Array:
        """[N, V] visible states -> [N] exact log p(v) (hidden units summed out)."""
        if self.visible == self.num_units:
            return -self.energy(v) - self.log_partition()
        return jax.scipy.special.logsumexp(-self.energy(self._full(v)), axis=1) - self.log_partition()

    def conditional_logit(self, x: Array, i: Array) -> Array:
        """The logit of x_i = 'on' given the other units (W_ii = 0, so x_i drops out)."""
        field = self.w[i] @ x + self.b[i]
        return 2.0 * field if self.spin else field

    def sample(self, key: Array, n: int, num_sweeps: int = 200) -> Array:
        """[n, V] visible states after `num_sweeps` Gibbs sweeps of all units from random states."""
        lo = -1.0 if self.spin else 0.0

        def conditional(k, x, i):
            on = jax.random.bernoulli(k, jax.nn.sigmoid(self.conditional_logit(x, i)))
            return jnp.where(on, 1.0, lo)

        def chain(k):
            k0, k1 = jax.random.split(k)
            x0 = jnp.where(jax.random.bernoulli(k0, 0.5, (self.num_units,)), 1.0, lo)
            return gibbs(k1, conditional, x0, num_sweeps).samples[-1]

        return jax.vmap(chain)(jax.random.split(key, n))[:, : self.visible]


def moments(x: Array, weights: Array | None = None) -> tuple[Array, Array]:
    """(<x x^T>, <x>) under the weighted empirical distribution of rows of x."""
    weights = jnp.full(x.shape[0], 1.0 / x.shape[0]) if weights is None else weights
    return jnp.einsum("n,ni,nj->ij", weights, x, x), weights @ x


def exact_gradient(bm: BoltzmannMachine, v: Array) -> tuple[Array, Array]:
    """Gradient of the mean log-likelihood of v [N, V]: (dW, db), by enumeration."""
    if bm.visible == bm.num_units:
        data_xx, data_x = moments(v)
    else:  # clamp v, average over p(h | v)
        full = bm._full(v)  # [N, 2^H, n]
        post = jax.nn.softmax(-bm.energy(full), axis=1) / v.shape[0]
        data_xx, data_x = moments(full.reshape(-1, bm.num_units), post.reshape(-1))
    states = all_states(bm.num_units, bm.spin)
    model_xx, model_x = moments(states, jax.nn.softmax(-bm.energy(states)))
    dw = data_xx - model_xx
    return dw * (1.0 - jnp.eye(bm.num_units)), data_x - model_x


def fit_boltzmann(key: Array, v: Array, num_hidden: int = 0, spin: bool = False, num_steps: int = 500,
                  learning_rate: float = 0.1) -> BoltzmannMachine:
    """Maximum likelihood by gradient ascent with exact gradients (Adam), from small
    random weights. v: [N, V] in {0, 1} (or {-1, +1} with spin)."""
    v = jnp.asarray(v, jnp.float32)
    n = v.shape[1] + num_hidden
    if n > MAX_ENUMERATE:
        raise ValueError(f"exact learning enumerates 2^{n} states: at most {MAX_ENUMERATE} units, got {n}")
    w0 = 0.01 * jax.random.normal(key, (n, n))
    bm = BoltzmannMachine((w0 + w0.T) * (1 - jnp.eye(n)), jnp.zeros(n), v.shape[1] if num_hidden else 0, spin)
    tx = optax.adam(learning_rate)

    @jax.jit
    def run(bm):
        def step(carry, _):
            bm, opt = carry
            dw, db = exact_gradient(bm, v)
            updates, opt = tx.update((-dw, -db), opt)
            w, b = optax.apply_updates((bm.w, bm.b), updates)
            return (bm.replace(w=0.5 * (w + w.T) * (1 - jnp.eye(n)), b=b), opt), None

        (bm, _), _ = jax.lax.scan(step, (bm, tx.init((bm.w, bm.b))), None, length=num_steps)
        return bm

    return run(bm)
