"""Diffusion models (Ho et al. 2020; Nichol & Dhariwal 2021; Song et al. 2021; Karras et al. 2022):
a denoising network (jaxgen.nn.denoisers) on a variance-preserving schedule
(jaxgen.losses.schedules), its training loss, the denoiser the samplers call (guidance,
clipping), and the variational bound on log P(levels) of 8-bit images.

Images live on [-1, 1] inside the model (x = 2 levels / (B - 1) - 1); 2-D data as it is.
"""

import dataclasses
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import diffusion as dl
from jaxgen.losses.likelihoods import gaussian_log_prob
from jaxgen.losses.schedules import Schedule, posterior
from jaxgen.sampling import diffusion as samplers

Array = jax.Array
SAMPLERS = ("ddpm", "ddim", "heun")


@dataclasses.dataclass(frozen=True)
class Diffusion:
    """A network and the process it denoises."""

    net: nn.Module  # (x_t, t, labels, train) -> prediction (and, with learned variances, v in [-1, 1])
    schedule: Schedule
    prediction: str = "eps"  # what the network predicts: 'eps', 'x0' or 'v'
    weighting: str = "eps"  # the loss's space (jaxgen.losses.diffusion.WEIGHTINGS)
    learned_variance: bool = False  # a second head; trained by the hybrid objective's vlb term
    vlb_weight: float = 1e-3  # lambda of the hybrid objective (with learned_variance)
    num_classes: int = 0  # > 0: class-conditional, label num_classes = no label
    label_dropout: float = 0.1  # how often a label is replaced by the null label in training
    image: bool = True  # data in [0, 1] mapped to [-1, 1]
    clip: bool = True  # images: x0_hat clipped to [-1, 1] when sampling and in the bound's model mean

    @property
    def clips(self) -> bool:
        return self.image and self.clip

    def to_model(self, x: Array) -> Array:
        return 2.0 * x - 1.0 if self.image else x

    def from_model(self, x: Array) -> Array:
        return jnp.clip((x + 1.0) / 2.0, 0.0, 1.0) if self.image else x

    def _split(self, out: Array) -> tuple[Array, Array | None]:
        if not self.learned_variance:
            return out, None
        c = out.shape[-1] // 2
        return out[..., :c], jnp.tanh(out[..., c:])

    def log_variances(self, i: Array) -> tuple[Array, Array]:
        """(log beta_i, log beta-tilde_i clipped at step 1 to beta-tilde_2) of discrete steps i [B],
        the ends of Nichol & Dhariwal's learned interpolation."""
        ab = self.schedule.alpha_bar_table
        log_beta = jnp.log(1.0 - ab[i] / ab[i - 1])
        j = jnp.maximum(i, 2)
        log_tilde = jnp.log((1.0 - ab[j - 1]) / (1.0 - ab[j]) * (1.0 - ab[j] / ab[j - 1]))
        return log_beta, log_tilde


def _bcast(v: Array, like: Array) -> Array:
    return jnp.reshape(v, v.shape + (1,) * (like.ndim - v.ndim))


def sample_times(model: Diffusion, key: Array, n: int) -> tuple[Array, Array | None]:
    """(t [n] in (0, 1], the integer steps i [n] of a discrete schedule or None)."""
    s = model.schedule
    if s.discrete:
        i = jax.random.randint(key, (n,), 1, s.num_steps + 1)
        return i / s.num_steps, i
    return jax.random.uniform(key, (n,), minval=1e-5, maxval=1.0), None


def make_loss_fn(model: Diffusion, num_bins: int | None) -> Callable:
    """(params, batch, key) -> (mean loss, metrics): the denoising loss at a uniform time per
    example, plus with learned variances lambda x the vlb term at that step (the mean's gradient
    stopped), in bits per dimension x T / 1000 as in Nichol & Dhariwal's code."""

    def loss_fn(params, batch, key):
        x0 = model.to_model(batch["x"])
        keys = rng_lib.example_keys(key, batch["index"])
        stream = lambda name: jax.vmap(lambda k: rng_lib.stream(k, name))(keys)
        t, i = jax.vmap(lambda k: sample_times(model, k, 1))(stream("time"))
        t, i = t[:, 0], None if i is None else i[:, 0]
        eps = rng_lib.per_example_normal(stream("noise"), x0.shape[1:])
        alpha, sigma = model.schedule.alpha_sigma(t)
        x_t = _bcast(alpha, x0) * x0 + _bcast(sigma, x0) * eps
        labels = None
        if model.num_classes:
            drop = jax.vmap(lambda k: jax.random.bernoulli(k, model.label_dropout))(stream("label_dropout"))
            labels = jnp.where(drop, model.num_classes, batch["label"])
        out = model.net.apply(params, x_t, t, labels, train=True, rngs={"dropout": rng_lib.stream(key, "dropout")})
        pred, v = model._split(out)
        loss = dl.denoising_loss(model.prediction, model.weighting, pred, x0, eps, alpha, sigma)
        metrics = {"mse": loss}
        if v is not None:
            frozen = jax.lax.stop_gradient(pred)
            terms = vlb_terms(model, frozen, v, x0, x_t, i, batch["x"], num_bins)
            vlb = terms / (math.log(2.0) * x0[0].size) * model.schedule.num_steps / 1000.0
            loss = loss + model.vlb_weight * vlb
            metrics["vlb_term_bpd"] = vlb
        metrics["loss"] = loss
        return jnp.mean(loss), jax.tree.map(jnp.mean, metrics)

    return loss_fn


def vlb_terms(model: Diffusion, pred: Array, v: Array | None, x0: Array, x_t: Array, i: Array,
              levels: Array, num_bins: int | None) -> Array:
    """[B] the bound's term at step i per example: KL(q(x_{i-1} | x_i, x_0) || p(x_{i-1} | x_i))
    for i > 1, the decoder's -log p(x_0 | x_1) at i = 1 (nats): of the stored levels, discretised
    into num_bins, or a Gaussian density when num_bins is None (continuous data)."""
    s = model.schedule
    ab = s.alpha_bar_table
    a_t, s_t = jnp.sqrt(ab[i]), jnp.sqrt(1.0 - ab[i])
    x0_hat, _ = dl.to_x0_eps(model.prediction, pred, x_t, a_t, s_t)
    if model.clips:
        x0_hat = jnp.clip(x0_hat, -1.0, 1.0)
    c_x0, c_xt, var = posterior(jnp.sqrt(ab[i - 1]), jnp.sqrt(1.0 - ab[i - 1]), a_t, s_t)
    b = lambda u: _bcast(u, x0)
    model_mean = b(c_x0) * x0_hat + b(c_xt) * x_t
    log_beta, log_tilde = model.log_variances(i)
    if v is None:
        model_log_var = jnp.broadcast_to(b(log_tilde), x0.shape)
    else:
        model_log_var = dl.learned_log_variance(v, b(log_beta), b(log_tilde))
    true_mean = b(c_x0) * x0 + b(c_xt) * x_t
    kl = dl.vlb_term(true_mean, jnp.broadcast_to(b(jnp.log(jnp.maximum(var, 1e-30))), x0.shape), model_mean,
                     model_log_var)
    if num_bins is None:  # continuous data: a Gaussian density decoder
        decoder = -gaussian_log_prob(x0, model_mean, 0.5 * model_log_var, event_ndims=x0.ndim - 1)
    else:
        decoder = dl.decoder_nll(levels, model_mean, model_log_var, num_bins)
    return jnp.where(i == 1, decoder, kl)


def make_nll_fn(model: Diffusion, num_bins: int, num_terms: int) -> Callable:
    """(params, batch, key) -> {'log_prob': [B]}: minus the variational bound on log P(levels),
    prior + sum_{i=1}^T L_i, with the T step terms estimated from `num_terms` steps per example
    drawn without replacement (unbiased; num_terms = T evaluates them all)."""
    s = model.schedule
    T = s.num_steps

    def term(params, x0, levels, labels, keys, i):
        eps = rng_lib.per_example_normal(keys, x0.shape[1:])
        a, sg = jnp.sqrt(s.alpha_bar_table[i]), jnp.sqrt(1.0 - s.alpha_bar_table[i])
        x_t = _bcast(a, x0) * x0 + _bcast(sg, x0) * eps
        pred, v = model._split(model.net.apply(params, x_t, i / T, labels, train=False))
        return vlb_terms(model, pred, v, x0, x_t, i, levels, num_bins)

    def nll(params, batch, key):
        x0 = model.to_model(batch["x"])
        n = x0.shape[0]
        labels = batch["label"] if model.num_classes else None
        keys = rng_lib.example_keys(key, batch["index"])
        steps = jax.vmap(lambda k: jax.random.permutation(rng_lib.stream(k, "steps"), T)[:num_terms] + 1)(keys)  # [B, k]

        def body(total, j):
            noise_keys = jax.vmap(lambda k: jax.random.fold_in(k, j))(keys)
            return total + term(params, x0, batch["x"], labels, noise_keys, steps[:, j]), None

        total, _ = jax.lax.scan(body, jnp.zeros((n,)), jnp.arange(num_terms))
        prior = dl.prior_term(x0, jnp.sqrt(s.alpha_bar_table[T]), jnp.sqrt(1.0 - s.alpha_bar_table[T]))
        bound = prior + total * (T / num_terms)
        return {"log_prob": -bound, "prior_term": prior}

    return nll


def make_continuous_nll_fn(model: Diffusion, num_bins: int | None, num_terms: int) -> Callable:
    """(params, batch, key) -> {'log_prob': [B]}: minus the continuous-time variational bound of a
    continuous schedule (Kingma et al. 2021, eq. 17 in log-SNR): -log p(x) <= KL(q(z_1 | x) ||
    N(0, I)) + E[-log p(x | z_0)] + 1/2 E_{t ~ U(0, 1), eps}[-lambda'(t) ||eps - eps_hat(z_t, t)||^2].
    The time integral is estimated from `num_terms` stratified times per example, t_j = (j + u) / k
    (unbiased, low variance); p(x | z_0) is the Gaussian of mean z_0 / alpha_0 and standard
    deviation sigma_0 / alpha_0, discretised into num_bins levels (or a density when None)."""
    s = model.schedule
    dlam = jax.vmap(jax.grad(lambda t: s.log_snr(t)))

    def nll(params, batch, key):
        x0 = model.to_model(batch["x"])
        n = x0.shape[0]
        labels = batch["label"] if model.num_classes else None
        keys = rng_lib.example_keys(key, batch["index"])
        u = jax.vmap(lambda k: jax.random.uniform(rng_lib.stream(k, "time")))(keys)

        def body(total, j):
            t = (j + u) / num_terms  # [B]
            eps = rng_lib.per_example_normal(jax.vmap(lambda k: jax.random.fold_in(k, j))(keys), x0.shape[1:])
            alpha, sigma = s.alpha_sigma(t)
            x_t = _bcast(alpha, x0) * x0 + _bcast(sigma, x0) * eps
            pred, _ = model._split(model.net.apply(params, x_t, t, labels, train=False))
            eps_hat = dl.to_x0_eps(model.prediction, pred, x_t, alpha, sigma)[1]
            sq = jnp.sum((eps - eps_hat).reshape(n, -1) ** 2, -1)
            return total + 0.5 * -dlam(t) * sq, None

        diffusion, _ = jax.lax.scan(body, jnp.zeros((n,)), jnp.arange(num_terms))
        alpha0, sigma0 = s.alpha_sigma(jnp.zeros((n,)))
        eps0 = rng_lib.per_example_normal(jax.vmap(lambda k: rng_lib.stream(k, "z0"))(keys), x0.shape[1:])
        mean = x0 + _bcast(sigma0 / alpha0, x0) * eps0  # z_0 / alpha_0
        log_var = jnp.broadcast_to(_bcast(2.0 * jnp.log(sigma0 / alpha0), x0), x0.shape)
        if num_bins is None:
            recon = -gaussian_log_prob(x0, mean, 0.5 * log_var, event_ndims=x0.ndim - 1)
        else:
            recon = dl.decoder_nll(batch["x"], mean, log_var, num_bins)
        alpha1, sigma1 = s.alpha_sigma(jnp.ones((n,)))
        prior = dl.prior_term(x0, alpha1, sigma1)
        bound = prior + recon + diffusion / num_terms
        return {"log_prob": -bound, "prior_term": prior, "reconstruction_term": recon}

    return nll


def make_denoiser(model: Diffusion, params, labels: Array | None = None, guidance: float = 0.0) -> samplers.Denoiser:
    """The samplers' denoise(x_t, t) -> (x0_hat, eps_hat): classifier-free guidance
    eps = (1 + w) eps(x, y) - w eps(x, null) (Ho & Salimans: w = 0 is the conditional model,
    w = -1 the unconditional one), and x0_hat clipped to [-1, 1] for images unless model.clip is
    False (eps re-derived)."""
    if model.num_classes and labels is None:
        raise ValueError("a class-conditional diffusion model samples given labels")
    if guidance and not model.num_classes:
        raise ValueError(f"guidance weight {guidance}: only a class-conditional model is guided")

    def eps_of(x, t, lab):
        alpha, sigma = model.schedule.alpha_sigma(t)
        pred, _ = model._split(model.net.apply(params, x, t, lab, train=False))
        return dl.to_x0_eps(model.prediction, pred, x, alpha, sigma)[1]

    def denoise(x, t):
        alpha, sigma = (_bcast(u, x) for u in model.schedule.alpha_sigma(t))
        if guidance:  # the conditional and unconditional passes as one batch
            both = eps_of(jnp.concatenate([x, x]), jnp.concatenate([t, t]),
                          jnp.concatenate([labels, jnp.full_like(labels, model.num_classes)]))
            eps = (1.0 + guidance) * both[: x.shape[0]] - guidance * both[x.shape[0]:]
        else:
            eps = eps_of(x, t, labels)
        x0 = (x - sigma * eps) / alpha
        if model.clips:
            x0 = jnp.clip(x0, -1.0, 1.0)
            eps = (x - alpha * x0) / sigma
        return x0, eps

    return denoise


def sample(model: Diffusion, params, key: Array, shape: tuple[int, ...], sampler: str, steps: int,
           labels: Array | None = None, guidance: float = 0.0, eta: float = 0.0) -> Array:
    """[n, ...] samples in data space with the named sampler: 'ddpm' (every step; `steps`
    ignored), 'ddim' (`steps` of the sub-sequence, eta) or 'heun' (`steps` EDM levels)."""
    denoise = make_denoiser(model, params, labels, guidance)
    if sampler == "ddpm":
        if model.learned_variance:
            def variance(x, t):
                i = jnp.round(t * model.schedule.num_steps).astype(jnp.int32)
                _, v = model._split(model.net.apply(params, x, t, labels, train=False))
                log_beta, log_tilde = model.log_variances(i)
                return dl.learned_log_variance(v, _bcast(log_beta, x), _bcast(log_tilde, x))
        else:
            variance = "beta_tilde"
        x = samplers.ddpm_sample(denoise, model.schedule, key, shape, variance)
    elif sampler == "ddim":
        x = samplers.ddim_sample(denoise, model.schedule, key, shape, steps, eta)
    elif sampler == "heun":
        x = samplers.heun_sample(denoise, model.schedule, key, shape, steps)
    else:
        raise ValueError(f"sampler {sampler!r}: expected one of {SAMPLERS}")
    return model.from_model(x)
