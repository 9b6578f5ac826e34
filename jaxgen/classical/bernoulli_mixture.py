"""Mixtures of multivariate Bernoullis fitted by EM: the classic baseline for binary images.

p(x) = sum_k pi_k prod_d mu_kd^x_d (1 - mu_kd)^(1 - x_d). The E-step computes
responsibilities in log space; the M-step is the MAP estimate under a symmetric Beta(a, a)
prior on each mu_kd and a symmetric Dirichlet(a) prior on pi (a = 1 + `smoothing`), which
keeps every mu_kd strictly inside (0, 1): an MLE of exactly 0 would give a test image with an
unseen pixel a log-likelihood of -inf. Initialisation: responsibilities from k-means++ seeds
(each point to its nearest seed, softened); restarts run under vmap and the best final
objective wins. Each EM iteration cannot decrease the log posterior (log-likelihood plus log
prior), which is what the trace records.
"""

import functools

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import logsumexp

from jaxgen.classical.em import EMTrace, iterate
from jaxgen.classical.gmm import kmeans_plus_plus
from jaxgen.classical.parametric import _check_2d
from jaxgen.sampling.discrete import inverse_cdf_categorical

Array = jax.Array


@struct.dataclass
class BernoulliMixture:
    log_weights: Array  # [K]
    logits: Array  # [K, D]: logit of mu_kd

    def component_log_prob(self, x: Array) -> Array:
        """[N, D] in {0, 1} -> [N, K]: log prod_d Bernoulli(x_d; mu_kd)."""
        return -(x @ jax.nn.softplus(-self.logits).T + (1.0 - x) @ jax.nn.softplus(self.logits).T)

    def joint_log_prob(self, x: Array) -> Array:
        return self.component_log_prob(x) + self.log_weights

    def log_prob(self, x: Array) -> Array:
        """[N, D] -> [N]: exact log p(x) in nats."""
        return logsumexp(self.joint_log_prob(x), axis=1)

    def posterior(self, x: Array) -> Array:
        """[N, K] responsibilities p(k | x)."""
        joint = self.joint_log_prob(x)
        return jnp.exp(joint - logsumexp(joint, axis=1, keepdims=True))

    @property
    def means(self) -> Array:
        return jax.nn.sigmoid(self.logits)

    def sample(self, key: Array, n: int) -> Array:
        """[n, D] binary samples: a component by its weight, then independent pixels."""
        kc, kx = jax.random.split(key)
        comp = inverse_cdf_categorical(kc, jnp.exp(self.log_weights), (n,))
        return jax.random.bernoulli(kx, self.means[comp]).astype(jnp.float32)


def log_prior(params: BernoulliMixture, smoothing: float) -> Array:
    """Unnormalised log density of the Beta / Dirichlet prior (a - 1 = smoothing)."""
    log_mu, log_1m = -jax.nn.softplus(-params.logits), -jax.nn.softplus(params.logits)
    return smoothing * (jnp.sum(log_mu + log_1m) + jnp.sum(params.log_weights))


def m_step(x: Array, resp: Array, smoothing: float) -> BernoulliMixture:
    """MAP parameters from responsibilities [N, K]: mu_kd = (sum_n r_nk x_nd + s) / (N_k + 2 s),
    pi_k = (N_k + s) / (N + K s)."""
    nk = jnp.sum(resp, 0)  # [K]
    ones = resp.T @ x + smoothing  # [K, D]
    zeros = nk[:, None] - resp.T @ x + smoothing
    weights = nk + smoothing
    return BernoulliMixture(jnp.log(weights) - jnp.log(jnp.sum(weights)), jnp.log(ones) - jnp.log(zeros))


def init_mixture(key: Array, x: Array, k: int, smoothing: float) -> BernoulliMixture:
    """One M-step from hard assignments to k-means++ seeds (ties broken by the first seed)."""
    centers = kmeans_plus_plus(key, x, k)
    d2 = jnp.sum(x * x, 1)[:, None] - 2.0 * x @ centers.T + jnp.sum(centers * centers, 1)
    resp = jax.nn.one_hot(jnp.argmin(d2, 1), k)
    return m_step(x, 0.9 * resp + 0.1 / k, smoothing)


def em(x: Array, params: BernoulliMixture, max_iter: int = 100, tol: float = 1e-4, smoothing: float = 1.0
       ) -> tuple[BernoulliMixture, EMTrace]:
    """MAP-EM from `params` until the per-point objective changes by less than `tol` nats."""
    n = x.shape[0]

    def update(p):
        joint = p.joint_log_prob(x)
        norm = logsumexp(joint, axis=1, keepdims=True)
        return m_step(x, jnp.exp(joint - norm), smoothing), jnp.mean(norm) + log_prior(p, smoothing) / n

    return iterate(update, params, max_iter, tol, x.dtype)


@functools.partial(jax.jit, static_argnames=("k", "n_init", "max_iter"))
def _fit(key, x, k, n_init, max_iter, tol, smoothing):
    def one(key):
        p, trace = em(x, init_mixture(key, x, k, smoothing), max_iter, tol, smoothing)
        return p, trace, jnp.mean(p.log_prob(x)) + log_prior(p, smoothing) / x.shape[0]

    params, traces, final = jax.vmap(one)(jax.random.split(key, n_init))
    best = jnp.argmax(jnp.where(jnp.isfinite(final), final, -jnp.inf))
    return jax.tree.map(lambda a: a[best], (params, traces))


def fit_bernoulli_mixture(key: Array, x: Array, k: int, n_init: int = 1, max_iter: int = 100, tol: float = 1e-4,
                          smoothing: float = 1.0) -> tuple[BernoulliMixture, EMTrace]:
    """Fit a K-component mixture of Bernoullis to binary x [N, D] by MAP-EM (`smoothing` > 0
    keeps every pixel probability inside (0, 1)); `n_init` vmapped restarts, the best kept."""
    x = _check_2d(x)
    if not 1 <= k <= x.shape[0]:
        raise ValueError(f"number of components k must be in [1, N={x.shape[0]}], got {k}")
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init={n_init} and max_iter={max_iter} must be >= 1")
    if smoothing < 0:
        raise ValueError(f"smoothing={smoothing} must be >= 0 (0: maximum likelihood)")
    if bool(jnp.any((x != 0) & (x != 1))):
        raise ValueError("a Bernoulli mixture needs binary data (0 / 1): binarise the images first")
    return _fit(key, x.astype(jnp.float32), k, n_init, max_iter, tol, smoothing)
