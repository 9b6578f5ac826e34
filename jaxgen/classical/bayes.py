"""Generative classifiers: class-conditional densities plus a class prior give p(y | x) by
Bayes' rule, next to the discriminative logistic regression they are compared with
(Ng & Jordan 2002).

  gaussian_nb   a diagonal Gaussian per class (naive Bayes)
  bernoulli_nb  independent Bernoullis per class, Laplace-smoothed (binary features)
  lda           Gaussians sharing one full covariance: linear decision boundaries
  qda           a full Gaussian per class: quadratic boundaries
  gmm           a Gaussian mixture per class
"""

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.scipy.special import logsumexp

from jaxgen.classical.gmm import fit_gmm
from jaxgen.classical.parametric import Gaussian, _check_2d, fit_bernoulli, fit_gaussian

Array = jax.Array
GENERATIVE = ("gaussian_nb", "bernoulli_nb", "lda", "qda", "gmm")


@struct.dataclass
class BayesClassifier:
    log_prior: Array  # [C]
    class_models: object  # density params with a leading class axis

    def joint_log_prob(self, x: Array) -> Array:
        """[N, C]: log p(x | y = c) + log p(c)."""
        return jax.vmap(lambda m: m.log_prob(x), out_axes=1)(self.class_models) + self.log_prior

    def log_prob(self, x: Array) -> Array:
        """[N] the marginal density p(x) = sum_c p(c) p(x | c): the classifier is a density model too."""
        return logsumexp(self.joint_log_prob(x), axis=1)

    def posterior(self, x: Array) -> Array:
        return jax.nn.softmax(self.joint_log_prob(x), axis=1)

    def predict(self, x: Array) -> Array:
        return jnp.argmax(self.joint_log_prob(x), axis=1)


def _stack(models):
    return jax.tree.map(lambda *a: jnp.stack(a), *models)


def fit_bayes_classifier(x: Array, y: Array, num_classes: int, model: str = "gaussian_nb", key: Array | None = None,
                         var_smoothing: float = 1e-9, reg: float = 1e-6, alpha: float = 1.0,
                         num_components: int = 3) -> BayesClassifier:
    """Maximum-likelihood class priors and class-conditional densities.

    Args:
      x: [N, D] features; y: [N] labels in [0, num_classes); every class must occur.
      model: one of GENERATIVE.
      var_smoothing: gaussian_nb adds var_smoothing * (largest feature variance) to every
        variance (as scikit-learn's GaussianNB).
      reg: added to the diagonal of lda / qda / gmm covariances.
      alpha: bernoulli_nb pseudocount (1 = Laplace smoothing).
      num_components, key: the per-class GMMs.
    """
    x = _check_2d(x)
    y = jnp.asarray(y)
    if model not in GENERATIVE:
        raise ValueError(f"unknown generative classifier {model!r}; expected one of {GENERATIVE}")
    counts = jnp.bincount(y, length=num_classes)
    if int(jnp.min(counts)) == 0:
        raise ValueError(f"every class needs examples; counts per class {counts.tolist()}")
    log_prior = jnp.log(counts) - jnp.log(y.shape[0])
    groups = [x[y == c] for c in range(num_classes)]
    if model == "gaussian_nb":
        eps = var_smoothing * float(jnp.max(jnp.var(x, 0)))
        models = [fit_gaussian(g, diagonal=True, reg=eps) for g in groups]
    elif model == "qda":
        models = [fit_gaussian(g, reg=reg) for g in groups]
    elif model == "lda":
        means = jnp.stack([jnp.mean(g, 0) for g in groups])
        diff = x - means[y]
        tril = jnp.linalg.cholesky(diff.T @ diff / x.shape[0] + reg * jnp.eye(x.shape[1]))
        models = [Gaussian(m, tril) for m in means]
    elif model == "bernoulli_nb":
        models = [fit_bernoulli(g, pseudocount=alpha) for g in groups]
    else:
        key = jax.random.key(0) if key is None else key
        models = [fit_gmm(jax.random.fold_in(key, c), g, num_components, "full", n_init=2, reg_covar=reg)[0]
                  for c, g in enumerate(groups)]
    return BayesClassifier(log_prior, _stack(models))


@struct.dataclass
class LogisticRegression:
    w: Array  # [D, C]
    b: Array  # [C]

    def predict(self, x: Array) -> Array:
        return jnp.argmax(x @ self.w + self.b, axis=1)

    def posterior(self, x: Array) -> Array:
        return jax.nn.softmax(x @ self.w + self.b, axis=1)


def fit_logistic_regression(x: Array, y: Array, num_classes: int, l2: float = 1e-4,
                            max_iter: int = 500) -> LogisticRegression:
    """Multinomial logistic regression: minimise mean cross-entropy + l2 / 2 * |W|^2 with
    L-BFGS (optax), full batch."""
    x = _check_2d(x)
    y = jnp.asarray(y)
    d = x.shape[1]

    def loss(p):
        logits = x @ p["w"] + p["b"]
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y)) + 0.5 * l2 * jnp.sum(p["w"] ** 2)

    @jax.jit
    def run(p):
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(carry, _):
            p, state = carry
            value, grad = value_and_grad(p, state=state)
            updates, state = opt.update(grad, state, p, value=value, grad=grad, value_fn=loss)
            return (optax.apply_updates(p, updates), state), value

        (p, _), _ = jax.lax.scan(step, (p, opt.init(p)), None, length=max_iter)
        return p

    p = run({"w": jnp.zeros((d, num_classes)), "b": jnp.zeros(num_classes)})
    return LogisticRegression(p["w"], p["b"])
