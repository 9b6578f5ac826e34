"""Two-layer deep Boltzmann machines (Salakhutdinov & Hinton 2009).

E(v, h1, h2) = -v.a - h1.b1 - h2.b2 - v^T W1 h1 - h1^T W2 h2 over binary units. Unlike a DBN
every connection is undirected, so h1 receives input from both v and h2. Learning (`fit_dbm`)
follows the log-likelihood gradient with a mean-field posterior for the data term
(q(h1, h2 | v) factorial, fixed-point updates) and persistent Gibbs chains for the model term
(PCD). Given h1, the layers v and h2 are independent: Gibbs alternates h1 | (v, h2) with
(v, h2) | h1, and log Z sums out v and h2 in closed form for every h1 (exact for small H1).

`pretrain_dbm` gives PCD a starting point the way Salakhutdinov & Hinton do: two RBMs trained
greedily, the bottom one with its visible layer doubled (p(h1 | v) = sigmoid(2 v W1 + b1), since
in the DBM h1 also hears from h2) and the top one with its hidden layer doubled
(p(h1 | h2) = sigmoid(2 W2 h2 + b1), since h1 also hears from v); composed, they are a DBM
whose h1 receives v W1 + W2 h2 without counting either input twice.
"""

import math

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxgen.classical.boltzmann import all_states
from jaxgen.classical.rbm import RBM, fit_rbm, init_rbm
from jaxgen.sampling.ais import AISResult, ais

Array = jax.Array


@struct.dataclass
class DBM:
    w1: Array  # [V, H1]
    w2: Array  # [H1, H2]
    a: Array  # [V]
    b1: Array  # [H1]
    b2: Array  # [H2]

    def h1_logits(self, v, h2):
        return v @ self.w1 + h2 @ self.w2.T + self.b1

    def gibbs_step(self, key: Array, state: tuple[Array, Array]) -> tuple[Array, Array]:
        """(v, h2) -> (v', h2'): h1 ~ p(h1 | v, h2), then v ~ p(v | h1) and h2 ~ p(h2 | h1)."""
        v, h2 = state
        k1, kv, k2 = jax.random.split(key, 3)
        h1 = jax.random.bernoulli(k1, jax.nn.sigmoid(self.h1_logits(v, h2))).astype(v.dtype)
        v = jax.random.bernoulli(kv, jax.nn.sigmoid(self.a + h1 @ self.w1.T)).astype(v.dtype)
        h2 = jax.random.bernoulli(k2, jax.nn.sigmoid(self.b2 + h1 @ self.w2)).astype(v.dtype)
        return v, h2

    def mean_field(self, v: Array, num_iters: int = 10) -> tuple[Array, Array]:
        """Factorial q(h1) q(h2) for each row of v: fixed-point iterations of
        mu1 = sigmoid(v W1 + mu2 W2^T + b1), mu2 = sigmoid(mu1 W2 + b2), started from the
        bottom-up pass with doubled input weights (h1 also expects input from h2)."""
        mu1 = jax.nn.sigmoid(2.0 * v @ self.w1 + self.b1)
        mu2 = jax.nn.sigmoid(mu1 @ self.w2 + self.b2)

        def body(_, mus):
            _, mu2 = mus
            mu1 = jax.nn.sigmoid(self.h1_logits(v, mu2))
            return mu1, jax.nn.sigmoid(mu1 @ self.w2 + self.b2)

        return jax.lax.fori_loop(0, num_iters, body, (mu1, mu2))

    def elbo(self, v: Array, log_z: Array, num_iters: int = 10) -> Array:
        """[N] mean-field lower bound on log p(v): E_q[-E(v, h)] + H(q) - log Z."""
        mu1, mu2 = self.mean_field(v, num_iters)

        def entropy(m):
            m = jnp.clip(m, 1e-7, 1 - 1e-7)
            return -jnp.sum(m * jnp.log(m) + (1 - m) * jnp.log1p(-m), -1)

        neg_energy = (v @ self.a + mu1 @ self.b1 + mu2 @ self.b2 + jnp.sum((v @ self.w1) * mu1, -1)
                      + jnp.sum((mu1 @ self.w2) * mu2, -1))
        return neg_energy + entropy(mu1) + entropy(mu2) - log_z

    def sample(self, key: Array, n: int, num_steps: int = 1000) -> Array:
        """[n, V] p(v | h1) means after `num_steps` Gibbs sweeps from random states."""
        k0, k1, k_run = jax.random.split(key, 3)
        state = (jax.random.bernoulli(k0, 0.5, (n, self.a.shape[0])).astype(jnp.float32),
                 jax.random.bernoulli(k1, 0.5, (n, self.b2.shape[0])).astype(jnp.float32))
        state, _ = jax.lax.scan(lambda s, k: (self.gibbs_step(k, s), None), state, jax.random.split(k_run, num_steps))
        return self.visible_means(state)

    def visible_means(self, state: tuple[Array, Array]) -> Array:
        """[n, V] p(v | h1) of a Gibbs state (v, h2), with h1 at its mean given v and h2."""
        v, h2 = state
        return jax.nn.sigmoid(self.a + jax.nn.sigmoid(self.h1_logits(v, h2)) @ self.w1.T)


@struct.dataclass
class DoubledRBM(RBM):
    """A Bernoulli RBM whose bottom-up input counts `up` times and top-down input `down`
    times (tied copies of the weights): the pretraining modules of a DBM. Its CD gradient
    has the RBM's form, so `fit_rbm(init=DoubledRBM(...))` trains it."""

    up: float = struct.field(pytree_node=False, default=1.0)
    down: float = struct.field(pytree_node=False, default=1.0)

    def hidden_logits(self, v: Array, beta: Array | float = 1.0) -> Array:
        return beta * (self.up * (v @ self.w) + self.b)

    def visible_mean(self, h: Array, beta: Array | float = 1.0) -> Array:
        return beta * (self.a + self.down * (h @ self.w.T))


def pretrain_dbm(key: Array, v_data: Array, h1: int, h2: int, callback=None, **rbm_kwargs) -> DBM:
    """Greedy pretraining (Salakhutdinov & Hinton 2009, section 3.1): a bottom RBM with doubled
    visible input, then a top RBM with doubled hidden input on the bottom one's p(h1 | v);
    `rbm_kwargs` go to `fit_rbm` (num_epochs, k, learning_rate, ...). h1's biases are the mean
    of the two modules' (each had learned them for a doubled input). `callback(layer, epoch,
    rbm, reconstruction error)` reports progress."""
    if min(h1, h2) < 1:
        raise ValueError(f"hidden layer sizes must be positive, got h1={h1}, h2={h2}")
    v_data = jnp.asarray(v_data, jnp.float32)
    kb, kt = jax.random.split(key)

    def fit(layer, k, x, num_hidden, up, down):
        start = init_rbm(jax.random.fold_in(k, 0), x, num_hidden)
        module = DoubledRBM(start.w, start.a, start.b, up=up, down=down)
        cb = None if callback is None else (lambda e, r, err: callback(layer, e, r, err))
        return fit_rbm(jax.random.fold_in(k, 1), x, num_hidden, callback=cb, init=module, **rbm_kwargs)

    bottom = fit(0, kb, v_data, h1, 2.0, 1.0)
    top = fit(1, kt, jax.nn.sigmoid(bottom.hidden_logits(v_data)), h2, 1.0, 2.0)
    return DBM(bottom.w, top.w, bottom.a, 0.5 * (bottom.b + top.a), top.b)


def exact_log_partition(dbm: DBM) -> Array:
    """log Z by enumerating the 2^H1 middle-layer states (H1 <= 20)."""
    h1 = all_states(dbm.b1.shape[0])
    per = (h1 @ dbm.b1 + jnp.sum(jax.nn.softplus(dbm.a + h1 @ dbm.w1.T), -1)
           + jnp.sum(jax.nn.softplus(dbm.b2 + h1 @ dbm.w2), -1))
    return jax.scipy.special.logsumexp(per)


def exact_log_prob(dbm: DBM, v: Array) -> Array:
    """[N] log p(v), enumerating h1 (h2 summed in closed form)."""
    h1 = all_states(dbm.b1.shape[0])  # [S, H1]
    per = (v @ dbm.a)[:, None] + (h1 @ dbm.b1)[None] + v @ dbm.w1 @ h1.T + jnp.sum(
        jax.nn.softplus(dbm.b2 + h1 @ dbm.w2), -1)[None]
    return jax.scipy.special.logsumexp(per, axis=1) - exact_log_partition(dbm)


def ais_log_partition(dbm: DBM, key: Array, betas, num_chains: int = 100, base_a: Array | None = None) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Hinton 2009) on the middle layer alone: given h1,
    v and h2 sum out in closed form, so the annealed state is h1 and

      log f_beta(h1) = beta h1.b1 + sum softplus((1 - beta) a_0 + beta (a + W1 h1))
                       + sum softplus(beta (b2 + W2^T h1)),

    from a base that is a product of Bernoullis on v (logits `base_a`, default 0) with h1, h2
    uniform, to the DBM at beta 1. Each transition samples (v, h2) | h1 then h1 | (v, h2) at
    inverse temperature beta, which leaves f_beta's h1-marginal invariant."""
    a0 = jnp.zeros_like(dbm.a) if base_a is None else base_a
    n1, n2 = dbm.b1.shape[0], dbm.b2.shape[0]
    log_z0 = jnp.sum(jax.nn.softplus(a0)) + (n1 + n2) * math.log(2.0)

    def v_logits(h1, beta):
        return (1.0 - beta) * a0 + beta * (dbm.a + h1 @ dbm.w1.T)

    def log_f(h1, beta):
        return (beta * h1 @ dbm.b1 + jnp.sum(jax.nn.softplus(v_logits(h1, beta)))
                + jnp.sum(jax.nn.softplus(beta * (dbm.b2 + h1 @ dbm.w2))))

    def transition(k, h1, beta):
        kv, k2, k1 = jax.random.split(k, 3)
        v = jax.random.bernoulli(kv, jax.nn.sigmoid(v_logits(h1, beta))).astype(h1.dtype)
        h2 = jax.random.bernoulli(k2, jax.nn.sigmoid(beta * (dbm.b2 + h1 @ dbm.w2))).astype(h1.dtype)
        return jax.random.bernoulli(k1, jax.nn.sigmoid(beta * dbm.h1_logits(v, h2))).astype(h1.dtype)

    def sample_init(k, n):
        return jax.random.bernoulli(k, 0.5, (n, n1)).astype(jnp.float32)

    return ais(key, sample_init, log_f, transition, betas, num_chains, log_z0)


def pcd_gradient(dbm: DBM, key: Array, v_data: Array, chains: tuple[Array, Array], mf_iters: int = 10,
                 gibbs_steps: int = 1) -> tuple[DBM, tuple[Array, Array]]:
    """Ascent direction of the mean log-likelihood: mean-field data statistics minus the
    statistics of the persistent chains after `gibbs_steps` sweeps. Returns (gradient, chains)."""
    mu1, mu2 = dbm.mean_field(v_data, mf_iters)
    chains, _ = jax.lax.scan(lambda s, k: (dbm.gibbs_step(k, s), None), chains, jax.random.split(key, gibbs_steps))
    v_m, h2_m = chains
    h1_m = jax.nn.sigmoid(dbm.h1_logits(v_m, h2_m))  # Rao-Blackwellised middle layer
    n, c = v_data.shape[0], v_m.shape[0]
    grad = DBM(w1=v_data.T @ mu1 / n - v_m.T @ h1_m / c, w2=mu1.T @ mu2 / n - h1_m.T @ h2_m / c,
               a=jnp.mean(v_data, 0) - jnp.mean(v_m, 0), b1=jnp.mean(mu1, 0) - jnp.mean(h1_m, 0),
               b2=jnp.mean(mu2, 0) - jnp.mean(h2_m, 0))
    return grad, chains


def fit_dbm(key: Array, v_data: Array, h1: int, h2: int, num_epochs: int = 10, batch_size: int = 100,
            learning_rate: float | optax.Schedule = 0.01, momentum: float = 0.5, weight_decay: float = 2e-4,
            mf_iters: int = 10, num_chains: int = 100, callback=None, init: DBM | None = None) -> DBM:
    """PCD training from small random weights (visible biases at the data marginals), or from
    `init` (e.g. `pretrain_dbm`); SGD with momentum, L2 on the weights, one jitted `lax.scan`
    per epoch. `learning_rate` is a number or an optax schedule of the update count (Salakhutdinov
    & Hinton decay theirs towards zero: the persistent chains then settle while the weights
    converge). `callback(epoch, dbm)` after each epoch."""
    v_data = jnp.asarray(v_data, jnp.float32)
    n, d = v_data.shape
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, N={n}], got {batch_size}")
    if min(h1, h2) < 1:
        raise ValueError(f"hidden layer sizes must be positive, got h1={h1}, h2={h2}")
    kw1, kw2, kc, k_run = jax.random.split(key, 4)
    p = jnp.clip(jnp.mean(v_data, 0), 0.01, 0.99)
    dbm = DBM(0.01 * jax.random.normal(kw1, (d, h1)), 0.01 * jax.random.normal(kw2, (h1, h2)),
              jnp.log(p) - jnp.log1p(-p), jnp.zeros(h1), jnp.zeros(h2)) if init is None else init
    if dbm.w1.shape != (d, h1) or dbm.w2.shape != (h1, h2):
        raise ValueError(f"init has weights {dbm.w1.shape} and {dbm.w2.shape}, expected {(d, h1)} and {(h1, h2)}")
    chains = (jax.random.bernoulli(kc, p, (num_chains, d)).astype(jnp.float32), jnp.zeros((num_chains, h2)))
    tx = optax.sgd(learning_rate, momentum=momentum)
    opt = tx.init(dbm)
    steps = n // batch_size

    @jax.jit
    def epoch(dbm, opt, chains, key):
        perm = jax.random.permutation(jax.random.fold_in(key, 0), n)[: steps * batch_size].reshape(steps, batch_size)

        def step(carry, inputs):
            dbm, opt, chains = carry
            idx, k = inputs
            grad, chains = pcd_gradient(dbm, k, v_data[idx], chains, mf_iters)
            grad = grad.replace(w1=grad.w1 - weight_decay * dbm.w1, w2=grad.w2 - weight_decay * dbm.w2)
            updates, opt = tx.update(jax.tree.map(jnp.negative, grad), opt, dbm)
            return (optax.apply_updates(dbm, updates), opt, chains), None

        (dbm, opt, chains), _ = jax.lax.scan(step, (dbm, opt, chains),
                                             (perm, jax.random.split(jax.random.fold_in(key, 1), steps)))
        return dbm, opt, chains

    for e in range(num_epochs):
        dbm, opt, chains = epoch(dbm, opt, chains, jax.random.fold_in(k_run, e))
        if callback is not None:
            callback(e, dbm)
    return dbm
