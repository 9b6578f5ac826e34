"""Sequence models of videos x [B, T, H, W, 1] with binary frames, each giving a per-sequence
log-likelihood (exact) or bound and samples:

- `RNNBaseline`: deterministic transitions, h_t = GRU(h_{t-1}, x_{t-1}), and a factorised
  Bernoulli frame p(x_t | h_t): exact log p(x) (the lectures' baseline).
- `VRNN` (Chung et al. 2015): a latent z_t per frame with prior p(z_t | h_{t-1}), posterior
  q(z_t | x_t, h_{t-1}), decoder p(x_t | z_t, h_{t-1}) and h_t = GRU(h_{t-1}, [phi(x_t), phi(z_t)]).
- `KVAE` (Fraccaro et al. 2017): a VAE per frame, q(a_t | x_t) and p(x_t | a_t), whose codes
  follow a linear-Gaussian state-space model with transition / emission matrices mixed from K
  by a dynamics LSTM over the past codes; log p(a_{1:T}) is exact by the Kalman filter
  (jaxgen.losses.kalman), missing frames are imputed by the smoother.

`DynamicalModel.terms(params, x, eps)` gives per sequence, for one draw of the latents' noise,
the log-weight log p(x, latents) - log q(latents | x) (the exact log p(x) for the RNN), whose
mean is the ELBO and whose log-mean-exp over draws is IWAE's bound, and the ELBO with analytic
KLs where there are (VRNN).
Sequences are unrolled in Python over T (16 frames here): simple to read, compiled once.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgen.losses import kalman
from jaxgen.losses.divergences import gaussian_kl
from jaxgen.losses.likelihoods import bernoulli_log_prob, gaussian_log_prob
from jaxgen.nn.mlp import MLP


def _gaussian(params: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean, log std) from the last axis split in two; the std floored at 1e-3."""
    mean, raw = jnp.split(params, 2, -1)
    return mean, jnp.log(jax.nn.softplus(raw) + 1e-3)


class RNNBaseline(nn.Module):
    hidden: int = 128
    frame_shape: tuple[int, ...] = (16, 16, 1)

    def setup(self):
        self.embed = nn.Dense(self.hidden)
        self.cell = nn.GRUCell(self.hidden)
        self.decoder = MLP((self.hidden, int(np.prod(self.frame_shape))))

    def __call__(self, x):
        """log p(x_t | x_{<t}) per frame [B, T] (exact)."""
        b, t = x.shape[:2]
        flat = x.reshape(b, t, -1).astype(jnp.float32)
        h = jnp.zeros((b, self.hidden))
        out = []
        for i in range(t):
            out.append(bernoulli_log_prob(flat[:, i], self.decoder(h), event_ndims=1))
            h, _ = self.cell(h, nn.relu(self.embed(flat[:, i])))
        return jnp.stack(out, 1)

    def generate(self, key, n, frames):
        """Frames [n, frames, H, W, 1] (Bernoulli means), each drawn frame fed back."""
        h = jnp.zeros((n, self.hidden))
        out = []
        for i in range(frames):
            probs = jax.nn.sigmoid(self.decoder(h))
            x = jax.random.bernoulli(jax.random.fold_in(key, i), probs).astype(jnp.float32)
            h, _ = self.cell(h, nn.relu(self.embed(x)))
            out.append(probs)
        return jnp.stack(out, 1).reshape(n, frames, *self.frame_shape)


class VRNN(nn.Module):
    hidden: int = 128
    latent: int = 8
    feat: int = 64
    frame_shape: tuple[int, ...] = (16, 16, 1)

    def setup(self):
        d = int(np.prod(self.frame_shape))
        self.phi_x = MLP((self.feat, self.feat))
        self.phi_z = MLP((self.feat,))
        self.prior = MLP((self.hidden, 2 * self.latent))
        self.posterior = MLP((self.hidden, 2 * self.latent))
        self.decoder = MLP((self.hidden, d))
        self.cell = nn.GRUCell(self.hidden)

    def _step(self, h, x_t, eps_t):
        """One frame: (next h, log p(x_t | z_t, h), prior (mean, log std), posterior, z_t)."""
        fx = nn.relu(self.phi_x(x_t))
        prior = _gaussian(self.prior(h))
        post = _gaussian(self.posterior(jnp.concatenate([fx, h], -1)))
        z = post[0] + jnp.exp(post[1]) * eps_t
        fz = nn.relu(self.phi_z(z))
        logits = self.decoder(jnp.concatenate([fz, h], -1))
        log_px = bernoulli_log_prob(x_t, logits, event_ndims=1)
        h, _ = self.cell(h, jnp.concatenate([fx, fz], -1))
        return h, log_px, prior, post, z

    def __call__(self, x, eps):
        """Per frame [B, T]: log p(x_t | z_t, h), KL(q(z_t) || p(z_t | h)) (analytic), and the
        Monte-Carlo log-weight log p(x_t, z_t | h) - log q(z_t | x_t, h) of the draw eps [B, T, Z]."""
        b, t = x.shape[:2]
        flat = x.reshape(b, t, -1).astype(jnp.float32)
        h = jnp.zeros((b, self.hidden))
        log_px, kl, log_w = [], [], []
        for i in range(t):
            h, lp, (pm, pls), (qm, qls), z = self._step(h, flat[:, i], eps[:, i])
            log_px.append(lp)
            kl.append(gaussian_kl(qm, 2 * qls, pm, 2 * pls))
            log_w.append(lp + gaussian_log_prob(z, pm, pls, 1) - gaussian_log_prob(z, qm, qls, 1))
        return jnp.stack(log_px, 1), jnp.stack(kl, 1), jnp.stack(log_w, 1)

    def generate(self, key, n, frames):
        """Frames [n, frames, H, W, 1] (Bernoulli means) drawn from the prior."""
        h = jnp.zeros((n, self.hidden))
        out = []
        for i in range(frames):
            k_z, k_x = jax.random.split(jax.random.fold_in(key, i))
            pm, pls = _gaussian(self.prior(h))
            z = pm + jnp.exp(pls) * jax.random.normal(k_z, pm.shape)
            fz = nn.relu(self.phi_z(z))
            probs = jax.nn.sigmoid(self.decoder(jnp.concatenate([fz, h], -1)))
            x = jax.random.bernoulli(k_x, probs).astype(jnp.float32)
            h, _ = self.cell(h, jnp.concatenate([nn.relu(self.phi_x(x)), fz], -1))
            out.append(probs)
        return jnp.stack(out, 1).reshape(n, frames, *self.frame_shape)


class KVAE(nn.Module):
    code: int = 2  # a_t
    state: int = 4  # z_t
    mixtures: int = 3  # K transition / emission matrices
    hidden: int = 128  # frame encoder / decoder
    dynamics_hidden: int = 32  # the LSTM choosing the mixture weights
    transition_noise: float = 0.08  # Q = q I
    emission_noise: float = 0.03  # R = r I
    frame_shape: tuple[int, ...] = (16, 16, 1)

    def setup(self):
        d, n, m, k = int(np.prod(self.frame_shape)), self.state, self.code, self.mixtures
        self.encoder = MLP((self.hidden, self.hidden, 2 * m))
        self.decoder = MLP((self.hidden, self.hidden, d))
        self.a_mats = self.param("A", lambda key: jnp.tile(jnp.eye(n), (k, 1, 1)))
        self.c_mats = self.param("C", lambda key: 0.1 * jax.random.normal(key, (k, m, n)))
        self.mu0 = self.param("mu0", nn.initializers.zeros, (n,))
        self.log_sigma0 = self.param("log_sigma0", nn.initializers.zeros, (n,))
        self.lstm = nn.OptimizedLSTMCell(self.dynamics_hidden)
        self.weights = nn.Dense(k)

    def _noise(self):
        q = self.transition_noise * jnp.eye(self.state)
        r = self.emission_noise * jnp.eye(self.code)
        return q, r, self.mu0, jnp.diag(jnp.exp(2 * self.log_sigma0))

    def _mixed(self, carry, a_prev):
        """Next LSTM carry and (A_t, C_t) mixed by softmax weights from the codes before t."""
        carry, h = self.lstm(carry, a_prev)
        alpha = jax.nn.softmax(self.weights(h), -1)  # [B, K]
        return carry, jnp.einsum("bk,kij->bij", alpha, self.a_mats), jnp.einsum("bk,kij->bij", alpha, self.c_mats)

    def _matrices(self, a):
        """A_t, C_t [B, T, ...] for codes a [B, T, m] (weights from a_{<t}; t = 1 from zeros)."""
        b, t = a.shape[:2]
        carry = self.lstm.initialize_carry(jax.random.key(0), (b, self.code))
        prev = jnp.concatenate([jnp.zeros_like(a[:, :1]), a[:, :-1]], 1)
        a_list, c_list = [], []
        for i in range(t):
            carry, a_t, c_t = self._mixed(carry, prev[:, i])
            a_list.append(a_t)
            c_list.append(c_t)
        return jnp.stack(a_list, 1), jnp.stack(c_list, 1)

    def __call__(self, x, eps):
        """Per sequence [B]: log p(x | a) - log q(a | x) summed over frames and log p(a) (Kalman),
        for the draw a = mean + std * eps [B, T, m]; their sum is the ELBO integrand."""
        b, t = x.shape[:2]
        flat = x.reshape(b * t, -1).astype(jnp.float32)
        mean, log_std = _gaussian(self.encoder(flat))
        a = (mean + jnp.exp(log_std) * eps.reshape(b * t, -1))
        log_q = gaussian_log_prob(a, mean, log_std, 1).reshape(b, t)
        log_px = bernoulli_log_prob(flat, self.decoder(a), event_ndims=1).reshape(b, t)
        a = a.reshape(b, t, -1)
        a_mats, c_mats = self._matrices(a)
        q, r, mu0, sigma0 = self._noise()
        filt = jax.vmap(lambda o, am, cm: kalman.kalman_filter(o, jnp.ones(t), am, cm, q, r, mu0, sigma0))(
            a, a_mats, c_mats)
        return log_px, log_q, filt.log_likelihoods

    def generate(self, key, n, frames):
        """Frames [n, frames, H, W, 1] (Bernoulli means) from the state-space prior."""
        _, _, mu0, sigma0 = self._noise()
        carry = self.lstm.initialize_carry(jax.random.key(0), (n, self.code))
        z = mu0 + jax.random.normal(jax.random.fold_in(key, 0), (n, self.state)) @ jnp.linalg.cholesky(sigma0).T
        a_prev = jnp.zeros((n, self.code))
        out = []
        for i in range(frames):
            k_w, k_v = jax.random.split(jax.random.fold_in(key, i + 1))
            carry, a_mat, c_mat = self._mixed(carry, a_prev)
            if i > 0:
                z = jnp.einsum("bij,bj->bi", a_mat, z) + jnp.sqrt(self.transition_noise) * jax.random.normal(k_w, z.shape)
            a_prev = jnp.einsum("bij,bj->bi", c_mat, z) + jnp.sqrt(self.emission_noise) * jax.random.normal(
                k_v, (n, self.code))
            out.append(jax.nn.sigmoid(self.decoder(a_prev)))
        return jnp.stack(out, 1).reshape(n, frames, *self.frame_shape)

    def impute(self, x, observed):
        """Frames [B, T, H, W, 1] (Bernoulli means) with the frames where observed [T] is 0
        imputed: codes of the observed frames (encoder means) filtered with the missing steps
        predicted (their code fed to the dynamics LSTM as the predicted C_t m_t), then smoothed;
        every frame decoded from the smoothed code C_t E[z_t | observed codes]."""
        b, t = x.shape[:2]
        mean, _ = _gaussian(self.encoder(x.reshape(b * t, -1).astype(jnp.float32)))
        codes = mean.reshape(b, t, -1)
        q, r, mu0, sigma0 = self._noise()
        carry = self.lstm.initialize_carry(jax.random.key(0), (b, self.code))
        m_prev = c_prev = None
        a_prev = jnp.zeros((b, self.code))
        means, covs, pms, pcs, a_list, c_list = [], [], [], [], [], []
        for i in range(t):
            carry, a_mat, c_mat = self._mixed(carry, a_prev)
            if i == 0:
                pm, pc = jnp.broadcast_to(mu0, (b, self.state)), jnp.broadcast_to(sigma0, (b, self.state, self.state))
            else:
                pm, pc = jax.vmap(kalman.predict, (0, 0, 0, None))(m_prev, c_prev, a_mat, q)
            m_prev, c_prev, _ = jax.vmap(kalman.update, (0, 0, 0, None, 0, None))(pm, pc, codes[:, i], observed[i],
                                                                                   c_mat, r)
            predicted = jnp.einsum("bij,bj->bi", c_mat, pm)
            a_prev = jnp.where(observed[i] > 0, codes[:, i], predicted)
            for lst, v in zip((means, covs, pms, pcs, a_list, c_list), (m_prev, c_prev, pm, pc, a_mat, c_mat)):
                lst.append(v)
        stack = lambda lst: jnp.stack(lst, 1)
        filt = kalman.Filtered(stack(means), stack(covs), stack(pms), stack(pcs), jnp.zeros((b, t)))
        a_mats, c_mats = stack(a_list), stack(c_list)
        smoothed, _ = jax.vmap(kalman.rts_smoother)(filt, a_mats)
        a_hat = jnp.einsum("btij,btj->bti", c_mats, smoothed)
        return jax.nn.sigmoid(self.decoder(a_hat.reshape(b * t, -1))).reshape(x.shape)


@dataclasses.dataclass(frozen=True)
class DynamicalModel:
    """A network and its per-draw log-weights: log p(x, latents) - log q(latents | x) [B]."""

    net: nn.Module
    arch: str  # 'rnn', 'vrnn' or 'kvae'
    noise_shape: tuple[int, ...]  # [T, dim] of one draw's standard normal noise (() for the RNN)

    def terms(self, params, x, eps) -> dict[str, jax.Array]:
        """Per sequence [B] for the draw eps [B, *noise_shape]: 'log_weight' and 'elbo' (with
        analytic KLs where there are; the same value otherwise)."""
        if self.arch == "rnn":
            lp = self.net.apply(params, x).sum(1)
            return {"log_weight": lp, "elbo": lp}
        if self.arch == "vrnn":
            log_px, kl, log_w = self.net.apply(params, x, eps)
            return {"log_weight": log_w.sum(1), "elbo": (log_px - kl).sum(1)}
        log_px, log_q, log_pa = self.net.apply(params, x, eps)
        lw = (log_px - log_q + log_pa).sum(1)
        return {"log_weight": lw, "elbo": lw}
