"""Hierarchical VAE with top-down inference (Ladder VAE, Sønderby et al. 2016).

Generative model, L Gaussian layers (index 0 nearest the data):
  z_{L-1} ~ N(0, I),  z_l | z_{l+1} ~ N(mu_p(z_{l+1}), sigma_p^2(z_{l+1})),  x | z ~ obs(decoder(z)),
where the decoder reads z_0 (and, with skip connections, every z_l).
Inference shares the top-down path: a bottom-up pass gives (mu_hat_l, sigma_hat_l) per layer;
q(z_{L-1} | x) = N(mu_hat, sigma_hat^2) and, below it, q(z_l | z_{l+1}, x) is the precision-
weighted combination of the bottom-up estimate and the prior p(z_l | z_{l+1}):
  sigma_q^-2 = sigma_hat^-2 + sigma_p^-2,  mu_q = sigma_q^2 (mu_hat sigma_hat^-2 + mu_p sigma_p^-2).

Batches are dicts with 'x' [B, H, W, C] in [0, 1] and 'index' [B].
"""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen import rng as rng_lib
from jaxgen.losses import bounds
from jaxgen.models.observations import Observation
from jaxgen.models.vae import ACTIVATIONS, log_normal
from jaxgen.nn import MLP

Array = jax.Array


def precision_weighted(mean_a: Array, log_var_a: Array, mean_b: Array, log_var_b: Array) -> tuple[Array, Array]:
    """The product of two Gaussians' densities, normalised: (mean, log_var)."""
    prec_a, prec_b = jnp.exp(-log_var_a), jnp.exp(-log_var_b)
    var = 1.0 / (prec_a + prec_b)
    return var * (mean_a * prec_a + mean_b * prec_b), jnp.log(var)


class LadderVAE(nn.Module):
    """latent_dims / hidden: per stochastic layer, bottom (nearest x) first; hidden[l] are the
    widths of the MLPs into layer l (bottom-up) and out of it (top-down, reversed)."""

    latent_dims: Sequence[int]
    hidden: Sequence[Sequence[int]]
    data_shape: tuple[int, int, int]
    out_channels: int
    activation: str = "relu"
    skip: bool = False  # the decoder reads every z_l, not only z_0

    def setup(self):
        act = ACTIVATIONS[self.activation]
        n = len(self.latent_dims)
        self.up = [MLP(tuple(self.hidden[l]), act) for l in range(n)]
        self.up_heads = [nn.Dense(2 * d) for d in self.latent_dims]
        self.down = [MLP(tuple(reversed(self.hidden[l + 1])), act) for l in range(n - 1)]
        self.down_heads = [nn.Dense(2 * d) for d in self.latent_dims[:-1]]
        h, w, _ = self.data_shape
        self.decoder = MLP((*reversed(self.hidden[0]), h * w * self.out_channels), act)
        self.act = act

    def bottom_up(self, x: Array) -> list[tuple[Array, Array]]:
        """x [B, ...] -> [(mu_hat_l, log_var_hat_l)] per layer, bottom first."""
        out, d = [], x.reshape(x.shape[0], -1)
        for mlp, head in zip(self.up, self.up_heads):
            d = self.act(mlp(d))
            mean, log_var = jnp.split(head(d), 2, axis=-1)
            out.append((mean, jnp.clip(log_var, -12.0, 8.0)))
        return out

    def prior(self, l: int, z_above: Array) -> tuple[Array, Array]:
        """p(z_l | z_{l+1}): (mean, log_var), l < L - 1."""
        mean, log_var = jnp.split(self.down_heads[l](self.act(self.down[l](z_above))), 2, axis=-1)
        return mean, jnp.clip(log_var, -12.0, 8.0)

    def decode(self, zs: Sequence[Array]) -> Array:
        """[z_0, ..., z_{L-1}] -> observation parameters [B, H, W, out_channels]."""
        z = jnp.concatenate(zs, axis=-1) if self.skip else zs[0]
        return self.decoder(z).reshape(z.shape[0], *self.data_shape[:2], self.out_channels)

    def __call__(self, x: Array) -> Array:  # initialises every parameter
        stats = self.bottom_up(x)
        zs = [m for m, _ in stats]
        for l in range(len(zs) - 1):
            self.prior(l, zs[l + 1])
        return self.decode(zs)


def _apply(model, params, method, *args):
    return model.apply(params, *args, method=method)


def inference_pass(model: LadderVAE, params, x: Array, noise: Sequence[Array]) -> dict:
    """Top-down sampling of z ~ q(z | x) with the given standard normal noise [.., B, D_l] per layer
    (leading sample axes allowed; x [B, ...] is shared), and every term of log w.

    Returns {'zs': [z_l], 'log_q': [..., B], 'log_p_z': [..., B] (prior of all layers),
    'kl': [KL_l [..., B, D_l] per dimension, analytic given z_{l+1}], 'out': decoder output
    [..., B, H, W, out_channels]}."""
    stats = _apply(model, params, LadderVAE.bottom_up, x)
    n = len(stats)
    zs, kl = [None] * n, [None] * n
    lead = noise[0].shape[:-2]
    log_q = log_p = 0.0
    for l in reversed(range(n)):
        mu_hat, lv_hat = stats[l]
        if l == n - 1:
            mean_p, lv_p = jnp.zeros_like(mu_hat), jnp.zeros_like(lv_hat)
            mean_q, lv_q = mu_hat, lv_hat
        else:
            above = zs[l + 1]
            mean_p, lv_p = (a.reshape(*above.shape[:-1], -1) for a in
                            _apply(model, params, LadderVAE.prior, l, above.reshape(-1, above.shape[-1])))
            mean_q, lv_q = precision_weighted(mu_hat, lv_hat, mean_p, lv_p)
        z = mean_q + jnp.exp(0.5 * lv_q) * noise[l]
        zs[l] = z
        log_q = log_q + log_normal(z, mean_q, lv_q)
        log_p = log_p + log_normal(z, mean_p, lv_p)
        kl[l] = 0.5 * (lv_p - lv_q + jnp.exp(lv_q - lv_p) + (mean_q - mean_p) ** 2 * jnp.exp(-lv_p) - 1.0)
        kl[l] = jnp.broadcast_to(kl[l], z.shape)
    flat = [z.reshape(-1, z.shape[-1]) for z in zs]
    out = _apply(model, params, LadderVAE.decode, flat)
    return {"zs": zs, "log_q": log_q, "log_p_z": log_p, "kl": kl, "out": out.reshape(*lead, -1, *out.shape[1:])}


def _noise(model: LadderVAE, keys: Array, j, count: int) -> list[Array]:
    """[count, B, D_l] standard normals per layer from the per-example keys, chunk j."""
    def draw(key, layer, dim):
        return jax.random.normal(jax.random.fold_in(jax.random.fold_in(key, layer), j), (count, dim))

    return [jnp.swapaxes(jax.vmap(draw, in_axes=(0, None, None))(keys, l, d), 0, 1)
            for l, d in enumerate(model.latent_dims)]


def _log_lik(obs: Observation, x: Array, out: Array) -> Array:
    """log p(x | z) for out [c, B, ...] and x [B, ...] -> [c, B]."""
    c = out.shape[0]
    x_rep = jnp.broadcast_to(x, (c, *x.shape)).reshape(c * x.shape[0], *x.shape[1:])
    return obs.log_prob(x_rep, out.reshape(c * x.shape[0], *out.shape[2:])).reshape(c, x.shape[0])


def make_loss_fn(model: LadderVAE, obs: Observation, warmup_steps: int = 0, free_bits: float = 0.0,
                 iwae_samples: int = 1) -> Callable:
    """loss_fn(params, batch, rng, step) -> (loss, metrics).

    iwae_samples = 1: the negative ELBO with analytic per-layer KLs (given the sampled z above),
    the KL weighted by beta = min(1, step / warmup_steps) (KL warm-up) and, with free_bits > 0,
    each latent dimension's batch-mean KL counted as at least free_bits nats (Kingma et al. 2016).
    iwae_samples = k > 1: the negative IWAE bound L_k (Burda et al. 2016) as the objective.
    """

    def loss_fn(params, batch, rng, step):
        x = batch["x"]
        keys = rng_lib.example_keys(rng, batch["index"])
        p = inference_pass(model, params, x, _noise(model, keys, 0, iwae_samples))
        log_lik = _log_lik(obs, x, p["out"])  # [k, B]
        kl_dims = [jnp.mean(k, axis=(0, 1)) for k in p["kl"]]  # batch-mean KL per dimension
        kl = sum(jnp.sum(k, -1) for k in p["kl"])  # [k, B]
        elbo = jnp.mean(log_lik - kl)
        metrics = {"elbo": elbo, "nll_recon": -jnp.mean(log_lik)}
        for l, k in enumerate(kl_dims):
            metrics[f"kl_{l}"] = jnp.sum(k)
        if iwae_samples > 1:
            log_w = log_lik + p["log_p_z"] - p["log_q"]
            loss = -jnp.mean(bounds.iwae_bound(log_w, axis=0))
        else:
            beta = jnp.minimum(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
            kl_term = sum(jnp.sum(jnp.maximum(k, free_bits)) for k in kl_dims)
            loss = -jnp.mean(log_lik) + beta * kl_term
            metrics["beta"] = jnp.asarray(beta, jnp.float32)
        metrics["loss"] = loss
        return loss, metrics

    return loss_fn


def make_bound_fn(model: LadderVAE, obs: Observation, num_samples: int, chunk: int) -> Callable:
    """bound_fn(params, batch, rng) -> {'elbo': [B], 'iwae': [B]}: L_k with k = num_samples drawn
    `chunk` at a time, and the ELBO as the mean of log w over the same samples."""
    if num_samples % chunk:
        raise ValueError(f"eval.iwae_samples={num_samples} must be divisible by eval.iwae_chunk={chunk}")

    def bound_fn(params, batch, rng):
        x = batch["x"]
        keys = rng_lib.example_keys(rng, batch["index"])

        def log_weights(j):
            p = inference_pass(model, params, x, _noise(model, keys, j, chunk))
            log_w = _log_lik(obs, x, p["out"]) + p["log_p_z"] - p["log_q"]
            return log_w, log_w

        iwae, elbo = bounds.iwae_bound_chunked(log_weights, num_samples // chunk, x.shape[0])
        return {"elbo": elbo, "iwae": iwae}

    return bound_fn


def make_sample_fn(model: LadderVAE, obs: Observation) -> Callable:
    """sample_fn(params, key, n) -> [n, H, W, C]: ancestral z from the top, decoder means."""

    def sample_fn(params, key, n):
        dims = model.latent_dims
        zs = [None] * len(dims)
        for l in reversed(range(len(dims))):
            eps = jax.random.normal(jax.random.fold_in(key, l), (n, dims[l]))
            if l == len(dims) - 1:
                zs[l] = eps
            else:
                mean, log_var = _apply(model, params, LadderVAE.prior, l, zs[l + 1])
                zs[l] = mean + jnp.exp(0.5 * log_var) * eps
        return obs.mean(_apply(model, params, LadderVAE.decode, zs))

    return sample_fn


def posterior_means(model: LadderVAE, params, x: Array) -> list[Array]:
    """E_q[z_l | x] per layer along the mean path (every z above set to its posterior mean):
    [B, D_l] each, for counting active units (Burda et al. 2016)."""
    zeros = [jnp.zeros((1, x.shape[0], d)) for d in model.latent_dims]
    return [z[0] for z in inference_pass(model, params, x, zeros)["zs"]]
