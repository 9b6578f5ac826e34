"""Adversarial losses: the GAN loss zoo and gradient penalties, as pure functions.

Conventions. `real` / `fake` are the discriminator's raw outputs on real data
and on generated samples: logits for the (non-)saturating GAN, DRAGAN and
R1/R2 (D(x) = sigmoid(logit)), unbounded critic values for WGAN and hinge,
raw scores for LSGAN. Every function is per-example and unreduced: it returns
an array of the broadcast shape of its inputs ([B]); the caller averages.
Each discriminator loss is minimised by the discriminator and each generator
loss by the generator, so a step takes `mean(loss)` of either.

Log-probabilities are written with log-sigmoid / softplus
(log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l)) so that
logits of +-100 give finite values and finite gradients; there is no
log(1 - sigmoid(l)) anywhere.

Penalties take the critic as a function `critic(x) -> [B]` that must act on
each example independently (no batch norm in the critic: the gradient of the
summed outputs is then each example's own input gradient).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

Array = jax.Array
Critic = Callable[[Array], Array]


# --- minimax and non-saturating GAN (Goodfellow et al. 2014) -------------------


def minimax_d_loss(real: Array, fake: Array) -> Array:
    """-log D(x) - log(1 - D(G(z))) = softplus(-real) + softplus(fake).

    The discriminator's side of min_G max_D V(D, G) (Goodfellow et al. 2014,
    "Generative Adversarial Nets", Eq. 1), per pair of real and fake logits.
    The same discriminator loss serves the non-saturating GAN and DRAGAN.
    """
    return jax.nn.softplus(-real) + jax.nn.softplus(fake)


def minimax_g_loss(fake: Array) -> Array:
    """log(1 - D(G(z))) = -softplus(fake): the saturating generator loss of
    Goodfellow et al. (2014), Eq. 1. Its gradient vanishes when D confidently
    rejects the samples (fake << 0), which is why it trains poorly early on."""
    return -jax.nn.softplus(fake)


def nonsaturating_g_loss(fake: Array) -> Array:
    """-log D(G(z)) = softplus(-fake): the non-saturating generator loss that
    Goodfellow et al. (2014, Sec. 3) recommend in practice; same fixed point as
    the minimax loss, strong gradients when D rejects the samples."""
    return jax.nn.softplus(-fake)


# --- Wasserstein GAN (Arjovsky et al. 2017; Gulrajani et al. 2017) ----------


def wgan_d_loss(real: Array, fake: Array) -> Array:
    """Critic loss f(G(z)) - f(x): the negated Kantorovich-Rubinstein estimate
    of W1 (Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Alg. 1).
    Needs a Lipschitz critic: weight clipping (`clip_weights`) or a penalty
    (`gradient_penalty`, WGAN-GP)."""
    return fake - real


def wgan_g_loss(fake: Array) -> Array:
    """Generator loss -f(G(z)) (Arjovsky et al. 2017, Alg. 1)."""
    return -fake


def clip_weights(limit: float) -> optax.GradientTransformation:
    """WGAN weight clipping as an optax transform: chain it after the critic's
    optimizer so every parameter ends in [-limit, limit] after the update
    (Arjovsky et al. 2017 use limit = 0.01 with RMSProp, lr 5e-5).

    The returned updates u' satisfy params + u' = clip(params + u, -limit, limit).
    """
    if limit <= 0:
        raise ValueError(f"clip_weights: limit={limit} must be positive")

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("clip_weights needs params: call tx.update(grads, state, params)")
        clipped = jax.tree.map(lambda p, u: jnp.clip(p + u, -limit, limit) - p, params, updates)
        return clipped, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def _input_grad(critic: Critic, x: Array) -> Array:
    """d critic(x)_b / d x_b for every example b, [B, ...] (critic per-example)."""
    out, vjp = jax.vjp(critic, x)
    return vjp(jnp.ones_like(out))[0]


def _norm(g: Array, eps: float = 1e-12) -> Array:
    """Per-example L2 norm with a floor inside the root, so its gradient at 0 is finite."""
    return jnp.sqrt(jnp.sum(jnp.square(g).reshape(g.shape[0], -1), axis=-1) + eps)


def gradient_penalty(critic: Critic, real: Array, fake: Array, alpha: Array, target: float = 1.0) -> Array:
    """WGAN-GP penalty (||grad_x f(x_hat)||_2 - target)^2 at x_hat = alpha x + (1 - alpha) G(z).

    Gulrajani et al. (2017), "Improved Training of Wasserstein GANs", Alg. 1;
    the caller multiplies by lambda (10 in the paper).

    Args:
      critic: x [B, ...] -> [B], acting on each example independently.
      real, fake: [B, ...].
      alpha: [B] interpolation weights, U[0, 1] in the paper.
      target: the norm the penalty pulls towards (1 for 1-Lipschitz).

    Returns:
      [B] penalties.
    """
    a = alpha.reshape(alpha.shape + (1,) * (real.ndim - 1))
    x_hat = a * real + (1.0 - a) * fake
    return jnp.square(_norm(_input_grad(critic, x_hat)) - target)


def dragan_penalty(critic: Critic, real: Array, delta: Array, alpha: Array, target: float = 1.0) -> Array:
    """DRAGAN penalty (||grad_x D(x_hat)||_2 - target)^2 at x_hat = x + alpha * delta.

    Kodali et al. (2017), "On Convergence and Stability of GANs": the penalty
    acts in a neighbourhood of the real data rather than between real and
    fake; their code perturbs x by delta = c * std(x) * U[0, 1] with c = 0.5
    and interpolates with alpha ~ U[0, 1]. The caller draws delta and alpha
    and multiplies by lambda (10 in the paper).

    Args:
      critic: x [B, ...] -> [B] logits, per-example.
      real, delta: [B, ...]; alpha: [B].
    """
    a = alpha.reshape(alpha.shape + (1,) * (real.ndim - 1))
    return jnp.square(_norm(_input_grad(critic, real + a * delta)) - target)


def r1_penalty(critic: Critic, real: Array) -> Array:
    """R1: ||grad_x D(x)||^2 on real data (Mescheder, Geiger & Nowozin 2018,
    "Which Training Methods for GANs do actually Converge?", Eq. 9); the
    caller multiplies by gamma / 2. `critic` returns logits, per-example."""
    return jnp.sum(jnp.square(_input_grad(critic, real)).reshape(real.shape[0], -1), axis=-1)


def r2_penalty(critic: Critic, fake: Array) -> Array:
    """R2: ||grad_x D(x)||^2 on generated samples (Mescheder et al. 2018, Eq. 10)."""
    return r1_penalty(critic, fake)


# --- least-squares GAN (Mao et al. 2017) ---------------------------------------


def lsgan_d_loss(real: Array, fake: Array, a: float = 0.0, b: float = 1.0) -> Array:
    """1/2 (D(x) - b)^2 + 1/2 (D(G(z)) - a)^2 on raw scores (no sigmoid).

    Mao et al. (2017), "Least Squares Generative Adversarial Networks", Eq. 2:
    a is the label of fake data, b of real data. (a, b, c) = (0, 1, 1) is the
    common choice; (-1, 1, 0) minimises the Pearson chi^2 divergence.
    """
    return 0.5 * jnp.square(real - b) + 0.5 * jnp.square(fake - a)


def lsgan_g_loss(fake: Array, c: float = 1.0) -> Array:
    """1/2 (D(G(z)) - c)^2 (Mao et al. 2017, Eq. 2): c is the value G wants D to believe."""
    return 0.5 * jnp.square(fake - c)


# --- hinge (Lim & Ye 2017; Miyato et al. 2018) ---------------------------------


def hinge_d_loss(real: Array, fake: Array) -> Array:
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) (Lim & Ye 2017, "Geometric GAN";
    the loss of SN-GAN, Miyato et al. 2018)."""
    return jax.nn.relu(1.0 - real) + jax.nn.relu(1.0 + fake)


def hinge_g_loss(fake: Array) -> Array:
    """-D(G(z)) (Lim & Ye 2017)."""
    return -fake


# --- BEGAN (Berthelot, Schumm & Metz 2017) -------------------------------------


def began_energy(x: Array, reconstruction: Array) -> Array:
    """L(v) = mean |v - D(v)|: the autoencoder discriminator's L1 reconstruction
    energy per example (the paper uses the eta = 1 norm; the mean rather than
    the sum keeps gamma on the paper's scale for any image size). [B, ...] -> [B]."""
    diff = jnp.abs(x - reconstruction).reshape(x.shape[0], -1)
    return jnp.mean(diff, axis=-1)


def began_d_loss(real_energy: Array, fake_energy: Array, k: Array) -> Array:
    """L_D = L(x) - k_t L(G(z)) (Berthelot et al. 2017, "BEGAN", Eq. 4); k_t is
    held fixed (no gradient) in this loss."""
    return real_energy - jax.lax.stop_gradient(k) * fake_energy


def began_g_loss(fake_energy: Array) -> Array:
    """L_G = L(G(z)) (Berthelot et al. 2017, Eq. 4)."""
    return fake_energy


def began_k_update(k: Array, real_energy: Array, fake_energy: Array, gamma: float, lambda_k: float) -> Array:
    """Proportional control k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
    (Berthelot et al. 2017, Eq. 4); the energies are batch means (scalars)."""
    return jnp.clip(k + lambda_k * (gamma * real_energy - fake_energy), 0.0, 1.0)


def began_convergence(real_energy: Array, fake_energy: Array, gamma: float) -> Array:
    """M_global = L(x) + |gamma L(x) - L(G(z))| (Berthelot et al. 2017, Sec. 3.4.1)."""
    return real_energy + jnp.abs(gamma * real_energy - fake_energy)


# --- the tables configs choose from --------------------------------------------

D_LOSSES: dict[str, Callable[[Array, Array], Array]] = {
    "minimax": minimax_d_loss,
    "nonsaturating": minimax_d_loss,
    "wgan": wgan_d_loss,
    "lsgan": lsgan_d_loss,
    "hinge": hinge_d_loss,
}
G_LOSSES: dict[str, Callable[[Array], Array]] = {
    "minimax": minimax_g_loss,
    "nonsaturating": nonsaturating_g_loss,
    "wgan": wgan_g_loss,
    "lsgan": lsgan_g_loss,
    "hinge": hinge_g_loss,
}
PENALTIES = ("none", "gp", "dragan", "r1", "r2")
