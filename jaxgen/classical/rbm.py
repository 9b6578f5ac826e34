"""Restricted Boltzmann machines: Bernoulli-Bernoulli and Gaussian-Bernoulli.

E(v, h) = -v.a - h.b - v^T W h (Bernoulli visible units), or |v - a|^2 / 2 - h.b - v^T W h
(Gaussian visible units of unit variance: standardise the data). Hidden units are
conditionally independent given v and vice versa, so Gibbs sampling alternates two
parallel layer updates and the free energy F(v) = -log sum_h exp(-E(v, h)) is closed form.

Training follows the contrastive-divergence gradient (Hinton 2002): <v h^T>_data -
<v h^T>_model with the model term from k Gibbs steps started at the data (CD-k) or from
persistent chains (PCD, Tieleman 2008). log Z is exact by enumerating the hidden layer
(small H) or estimated by annealed importance sampling from a base-rate RBM (Salakhutdinov
& Murray 2008).
"""

import math

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxgen.classical.boltzmann import all_states
from jaxgen.sampling.ais import AISResult, ais

Array = jax.Array
VISIBLE = ("bernoulli", "gaussian")


@struct.dataclass
class RBM:
    w: Array  # [V, H]
    a: Array  # [V] visible biases (Gaussian: means)
    b: Array  # [H] hidden biases
    visible: str = struct.field(pytree_node=False, default="bernoulli")

    def hidden_logits(self, v: Array, beta: Array | float = 1.0) -> Array:
        return beta * (v @ self.w + self.b)

    def visible_mean(self, h: Array, beta: Array | float = 1.0) -> Array:
        """Bernoulli: logits of p(v | h); Gaussian: the mean of p(v | h) (variance 1 / beta)."""
        if self.visible == "gaussian":
            return self.a + h @ self.w.T
        return beta * (self.a + h @ self.w.T)

    def free_energy(self, v: Array) -> Array:
        """[..., V] -> [...]: F(v) = -log sum_h exp(-E(v, h))."""
        hidden = jnp.sum(jax.nn.softplus(self.hidden_logits(v)), -1)
        if self.visible == "gaussian":
            return 0.5 * jnp.sum((v - self.a) ** 2, -1) - hidden
        return -v @ self.a - hidden

    def sample_h(self, key: Array, v: Array, beta: Array | float = 1.0) -> Array:
        return jax.random.bernoulli(key, jax.nn.sigmoid(self.hidden_logits(v, beta))).astype(v.dtype)

    def sample_v(self, key: Array, h: Array, beta: Array | float = 1.0) -> Array:
        mean = self.visible_mean(h, beta)
        if self.visible == "gaussian":
            return mean + jax.random.normal(key, mean.shape) / jnp.sqrt(beta)
        return jax.random.bernoulli(key, jax.nn.sigmoid(mean)).astype(h.dtype)

    def gibbs_step(self, key: Array, v: Array) -> Array:
        """One v -> h -> v sweep."""
        k_h, k_v = jax.random.split(key)
        return self.sample_v(k_v, self.sample_h(k_h, v))

    def sample(self, key: Array, n: int, num_steps: int = 1000, init: Array | None = None) -> Array:
        """[n, V] after `num_steps` Gibbs sweeps (from `init`, or random visible states).
        Bernoulli: returns the final p(v | h) means, the usual way to show samples."""
        k0, k_run = jax.random.split(key)
        v = init if init is not None else jax.random.bernoulli(k0, 0.5, (n, self.a.shape[0])).astype(jnp.float32)

        def step(v, k):
            return self.gibbs_step(k, v), None

        v, _ = jax.lax.scan(step, v, jax.random.split(k_run, num_steps - 1))
        h = self.sample_h(jax.random.fold_in(k_run, num_steps), v)
        mean = self.visible_mean(h)
        return jax.nn.sigmoid(mean) if self.visible == "bernoulli" else mean

    def log_prob(self, v: Array, log_z: Array) -> Array:
        """log p(v) = -F(v) - log Z, given log Z (exact_log_partition or ais_log_partition)."""
        return -self.free_energy(v) - log_z


def exact_log_partition(rbm: RBM) -> Array:
    """log Z by enumerating the 2^H hidden states (H <= 20): the visible units integrate
    out in closed form given h."""
    h = all_states(rbm.b.shape[0])
    field = rbm.a + h @ rbm.w.T  # [2^H, V]
    if rbm.visible == "gaussian":  # int exp(-|v - a|^2 / 2 + v.W h) dv
        v_dim = rbm.a.shape[0]
        per_h = 0.5 * jnp.sum(field**2 - rbm.a**2, -1) + 0.5 * v_dim * math.log(2 * math.pi)
    else:
        per_h = jnp.sum(jax.nn.softplus(field), -1)
    return jax.scipy.special.logsumexp(h @ rbm.b + per_h)


def cd_gradient(rbm: RBM, key: Array, v_data: Array, k: int = 1, chains: Array | None = None) -> tuple[RBM, Array]:
    """Contrastive-divergence estimate of the gradient of the mean log-likelihood.

    Positive phase with the exact p(h | v_data); negative phase after k Gibbs sweeps from
    the data (CD-k) or from persistent `chains` [C, V] (PCD-k). Returns (gradient as an
    RBM pytree, the chains' new states) — ascend it.
    """
    start = v_data if chains is None else chains

    def sweep(v, kk):
        return rbm.gibbs_step(kk, v), None

    v_model, _ = jax.lax.scan(sweep, start, jax.random.split(key, k))
    ph_data = jax.nn.sigmoid(rbm.hidden_logits(v_data))
    ph_model = jax.nn.sigmoid(rbm.hidden_logits(v_model))
    dw = v_data.T @ ph_data / v_data.shape[0] - v_model.T @ ph_model / v_model.shape[0]
    if rbm.visible == "gaussian":
        da = jnp.mean(v_data - rbm.a, 0) - jnp.mean(v_model - rbm.a, 0)
    else:
        da = jnp.mean(v_data, 0) - jnp.mean(v_model, 0)
    db = jnp.mean(ph_data, 0) - jnp.mean(ph_model, 0)
    return rbm.replace(w=dw, a=da, b=db), v_model


def base_rate_rbm(v_data: Array, num_hidden: int, smoothing: float = 0.05) -> RBM:
    """The AIS starting point of Salakhutdinov & Murray (2008): no weights, visible biases
    at the (smoothed) data marginals, so p_0 is a product of Bernoullis with exact Z_0."""
    p = (jnp.sum(v_data, 0) + smoothing) / (v_data.shape[0] + 2 * smoothing)
    return RBM(jnp.zeros((v_data.shape[1], num_hidden)), jnp.log(p) - jnp.log1p(-p), jnp.zeros(num_hidden))


def ais_log_partition(rbm: RBM, key: Array, betas, num_chains: int = 100, base_a: Array | None = None) -> AISResult:
    """AIS estimate of log Z for a Bernoulli-Bernoulli RBM.

    Path (Salakhutdinov & Murray 2008): p_beta(v) proportional to
    exp((1 - beta) a_0.v + beta a.v) prod_j (1 + exp(beta (b_j + v.W_j))), from a base
    product of Bernoullis with logits `base_a` (default 0: uniform) at beta 0 to the RBM at
    beta 1; each transition is one Gibbs sweep of the beta-scaled model.
    """
    if rbm.visible != "bernoulli":
        raise ValueError("ais_log_partition anneals Bernoulli visible units; got visible='gaussian' (use "
                         "exact_log_partition for small H)")
    a0 = jnp.zeros_like(rbm.a) if base_a is None else base_a
    # f_0(v) = exp(a_0.v) prod_j (1 + e^0): Z_0 = prod_i (1 + e^{a_0i}) * 2^H
    log_z0 = jnp.sum(jax.nn.softplus(a0)) + rbm.b.shape[0] * math.log(2.0)

    def log_f(v, beta):
        return ((1.0 - beta) * a0 + beta * rbm.a) @ v + jnp.sum(jax.nn.softplus(beta * (v @ rbm.w + rbm.b)))

    def transition(k, v, beta):
        k_h, k_v = jax.random.split(k)
        h = jax.random.bernoulli(k_h, jax.nn.sigmoid(beta * (v @ rbm.w + rbm.b))).astype(v.dtype)
        logits = (1.0 - beta) * a0 + beta * (rbm.a + rbm.w @ h)
        return jax.random.bernoulli(k_v, jax.nn.sigmoid(logits)).astype(v.dtype)

    def sample_init(k, n):
        return jax.random.bernoulli(k, jax.nn.sigmoid(a0), (n, a0.shape[0])).astype(jnp.float32)

    return ais(key, sample_init, log_f, transition, betas, num_chains, log_z0)


def init_rbm(key: Array, v_data: Array, num_hidden: int, visible: str = "bernoulli", scale: float = 0.01) -> RBM:
    """Small random weights, zero hidden biases, visible biases at the data's marginals
    (log p / (1 - p) for Bernoulli units, the mean for Gaussian ones; Hinton's guide, 2010)."""
    if visible not in VISIBLE:
        raise ValueError(f"unknown visible units {visible!r}; expected one of {VISIBLE}")
    w = scale * jax.random.normal(key, (v_data.shape[1], num_hidden))
    if visible == "gaussian":
        a = jnp.mean(v_data, 0)
    else:
        a = base_rate_rbm(v_data, num_hidden).a
    return RBM(w, a, jnp.zeros(num_hidden), visible)


def fit_rbm(key: Array, v_data: Array, num_hidden: int, num_epochs: int = 10, batch_size: int = 100,
            learning_rate: float = 0.05, k: int = 1, persistent: bool = False, momentum: float = 0.5,
            weight_decay: float = 2e-4, visible: str = "bernoulli", callback=None, init: RBM | None = None) -> RBM:
    """Train an RBM by CD-k (or PCD-k with one persistent chain per minibatch row) with SGD,
    momentum and L2 weight decay on W; one jitted `lax.scan` per epoch over shuffled
    minibatches. `callback(epoch, rbm, mean squared reconstruction error)` after each epoch
    (progress, logging). `init` starts from given parameters instead of `init_rbm` (any
    RBM-shaped pytree with its own conditionals, e.g. the doubled modules that pretrain a
    DBM). The family `rbm` runs the same update inside the training loop."""

    v_data = jnp.asarray(v_data, jnp.float32)
    n = v_data.shape[0]
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, N={n}], got {batch_size}")
    if k < 1:
        raise ValueError(f"k (Gibbs steps) must be >= 1, got {k}")
    k_init, k_chain, k_run = jax.random.split(key, 3)
    rbm = init_rbm(k_init, v_data, num_hidden, visible) if init is None else init
    if rbm.w.shape != (v_data.shape[1], num_hidden):
        raise ValueError(f"init weights have shape {rbm.w.shape}, expected {(v_data.shape[1], num_hidden)}")
    tx = optax.sgd(learning_rate, momentum=momentum)
    opt = tx.init(rbm)
    chains = v_data[jax.random.randint(k_chain, (batch_size,), 0, n)]
    steps = n // batch_size

    @jax.jit
    def epoch(rbm, opt, chains, key):
        perm = jax.random.permutation(jax.random.fold_in(key, 0), n)[: steps * batch_size].reshape(steps, batch_size)

        def step(carry, inputs):
            rbm, opt, chains = carry
            idx, kk = inputs
            batch = v_data[idx]
            grad, new_chains = cd_gradient(rbm, kk, batch, k, chains if persistent else None)
            grad = grad.replace(w=grad.w - weight_decay * rbm.w)
            updates, opt = tx.update(jax.tree.map(jnp.negative, grad), opt, rbm)
            rbm = optax.apply_updates(rbm, updates)
            recon = jnp.mean((batch - rbm.visible_mean(jax.nn.sigmoid(rbm.hidden_logits(batch)))
                              if visible == "gaussian" else
                              batch - jax.nn.sigmoid(rbm.visible_mean(jax.nn.sigmoid(rbm.hidden_logits(batch))))) ** 2)
            return (rbm, opt, new_chains if persistent else chains), recon

        (rbm, opt, chains), recon = jax.lax.scan(step, (rbm, opt, chains),
                                                 (perm, jax.random.split(jax.random.fold_in(key, 1), steps)))
        return rbm, opt, chains, jnp.mean(recon)

    for e in range(num_epochs):
        rbm, opt, chains, recon = epoch(rbm, opt, chains, jax.random.fold_in(k_run, e))
        if callback is not None:
            callback(e, rbm, float(recon))
    return rbm
