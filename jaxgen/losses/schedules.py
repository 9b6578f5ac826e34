"""Noise schedules of diffusion models: the variance-preserving forward process
q(x_t | x_0) = N(alpha_t x_0, sigma_t^2 I), alpha_t^2 + sigma_t^2 = 1, for t in [0, 1].

One interface for every schedule: its log signal-to-noise ratio lambda(t) = log(alpha_t^2 /
sigma_t^2), decreasing in t (alpha_t^2 = sigmoid(lambda), sigma_t^2 = sigmoid(-lambda)), from
which q(x_t | x_0), the posterior q(x_s | x_t, x_0) for any s < t and the samplers' noise levels
follow. Discrete schedules (Ho et al. 2020's linear betas, Nichol & Dhariwal 2021's cosine
alpha-bar) fix T steps: alpha_bar_i at t = i / T (alpha_bar_0 = 1, the data), with lambda
interpolated linearly between the steps so that samplers and the likelihood work at any time.
Continuous schedules (Kingma et al. 2021) give lambda(t) in closed form for every t; their T is 0.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
KINDS = ("linear", "cosine", "continuous_cosine", "continuous_linear")


@dataclasses.dataclass(frozen=True, eq=False)
class Schedule:
    """alpha_bar_i, i = 0..T, of a discrete schedule (T = num_steps > 0; alpha_bar_0 = 1), or the
    log-SNR endpoints of a continuous one (T = 0). Fixed constants, closed over by jitted code."""

    alpha_bar_table: Array  # [T + 1] (discrete) or [0]
    log_snr_table: Array  # [T]: lambda at i = 1..T, computed in float64 (discrete) or [0]
    kind: str
    num_steps: int
    log_snr_max: float = 10.0  # continuous: lambda(0)
    log_snr_min: float = -10.0  # continuous: lambda(1)

    @property
    def discrete(self) -> bool:
        return self.num_steps > 0

    # --- discrete quantities (Ho et al. 2020's notation), index i = 1..T -----------------------
    def alpha_bar(self, i: Array) -> Array:
        """alpha_bar_i for integer steps i in 0..T."""
        return self.alpha_bar_table[i]

    def betas(self) -> Array:
        """[T] beta_1..beta_T = 1 - alpha_bar_i / alpha_bar_{i-1}."""
        ab = self.alpha_bar_table
        return 1.0 - ab[1:] / ab[:-1]

    def _grid(self) -> Array:
        return jnp.arange(1, self.num_steps + 1, dtype=jnp.float32) / self.num_steps

    # --- any time t in [0, 1] ------------------------------------------------------------------
    def log_snr(self, t: Array) -> Array:
        """lambda(t). Discrete: exact at t = i / T (i >= 1), linear in between, and constant below
        1 / T (the first noisy step; t = 0 is the data itself, lambda = +inf)."""
        t = jnp.asarray(t, jnp.float32)
        if self.discrete:
            return jnp.interp(t, self._grid(), self.log_snr_table)
        if self.kind == "continuous_linear":
            return self.log_snr_max + (self.log_snr_min - self.log_snr_max) * t
        # continuous cosine: lambda = -2 log tan(a t + b), a and b putting lambda(0), lambda(1) at the ends
        b = math.atan(math.exp(-0.5 * self.log_snr_max))
        a = math.atan(math.exp(-0.5 * self.log_snr_min)) - b
        return -2.0 * jnp.log(jnp.tan(a * t + b))

    def alpha_sigma(self, t: Array) -> tuple[Array, Array]:
        """(alpha_t, sigma_t) = (sqrt(sigmoid(lambda)), sqrt(sigmoid(-lambda)))."""
        lam = self.log_snr(t)
        return jnp.sqrt(jax.nn.sigmoid(lam)), jnp.sqrt(jax.nn.sigmoid(-lam))

    def time_of_log_snr(self, lam: Array) -> Array:
        """The inverse of log_snr on [1 / T, 1] (discrete) or [0, 1]: the time at which the model
        is asked about a noise level (the EDM sampler chooses levels, not steps)."""
        lam = jnp.asarray(lam, jnp.float32)
        if self.discrete:
            # lambda decreases with t; jnp.interp wants increasing x
            return jnp.interp(lam, self.log_snr_table[::-1], self._grid()[::-1])
        if self.kind == "continuous_linear":
            return (lam - self.log_snr_max) / (self.log_snr_min - self.log_snr_max)
        b = math.atan(math.exp(-0.5 * self.log_snr_max))
        a = math.atan(math.exp(-0.5 * self.log_snr_min)) - b
        return (jnp.arctan(jnp.exp(-0.5 * lam)) - b) / a

    def q_sample(self, x0: Array, t: Array, eps: Array) -> Array:
        """x_t = alpha_t x_0 + sigma_t eps, t [B] broadcast over the example's axes."""
        alpha, sigma = (_expand(v, x0.ndim) for v in self.alpha_sigma(t))
        return alpha * x0 + sigma * eps


def _expand(v: Array, ndim: int) -> Array:
    return jnp.reshape(v, jnp.shape(v) + (1,) * (ndim - jnp.ndim(v)))


def posterior(alpha_s: Array, sigma_s: Array, alpha_t: Array, sigma_t: Array) -> tuple[Array, Array, Array]:
    """q(x_s | x_t, x_0) for s < t = N(c_x0 x_0 + c_xt x_t, var): returns (c_x0, c_xt, var). With
    alpha_{t|s} = alpha_t / alpha_s and sigma_{t|s}^2 = sigma_t^2 - alpha_{t|s}^2 sigma_s^2:
    c_x0 = alpha_s sigma_{t|s}^2 / sigma_t^2, c_xt = alpha_{t|s} sigma_s^2 / sigma_t^2,
    var = sigma_{t|s}^2 sigma_s^2 / sigma_t^2 (for s = t - 1 of a discrete schedule: Ho et al.'s
    posterior mean coefficients and beta-tilde). alpha_s = 1, sigma_s = 0 (s is the data) gives
    (1, 0, 0)."""
    a_ts = alpha_t / alpha_s
    var_ts = sigma_t**2 - a_ts**2 * sigma_s**2
    return alpha_s * var_ts / sigma_t**2, a_ts * sigma_s**2 / sigma_t**2, var_ts * sigma_s**2 / sigma_t**2


def linear_alpha_bar(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """[T + 1] alpha_bar of Ho et al.'s betas, linear from beta_start to beta_end over T = 1000
    steps (rescaled by 1000 / T for other T, as in Nichol & Dhariwal's code)."""
    scale = 1000.0 / num_steps
    if scale * beta_end >= 1.0:
        raise ValueError(f"linear schedule with T={num_steps}: its last beta {beta_end} x 1000 / T = "
                         f"{scale * beta_end:g} must be < 1 (use T > {int(1000 * beta_end)} or the cosine schedule)")
    betas = np.linspace(scale * beta_start, scale * beta_end, num_steps, dtype=np.float64)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def cosine_alpha_bar(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """[T + 1] alpha_bar_i = f(i) / f(0), f(i) = cos^2((i / T + s) / (1 + s) pi / 2), with each
    beta_i = 1 - alpha_bar_i / alpha_bar_{i-1} clipped at max_beta (Nichol & Dhariwal 2021)."""
    f = np.cos((np.arange(num_steps + 1, dtype=np.float64) / num_steps + s) / (1 + s) * np.pi / 2) ** 2
    ab = f / f[0]
    betas = np.minimum(1.0 - ab[1:] / ab[:-1], max_beta)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def make_schedule(kind: str, num_steps: int = 1000, log_snr_max: float = 10.0, log_snr_min: float = -10.0) -> Schedule:
    """'linear' / 'cosine' with T = num_steps, or 'continuous_cosine' / 'continuous_linear' (in
    log-SNR, from log_snr_max at t = 0 to log_snr_min at t = 1; num_steps ignored)."""
    if kind not in KINDS:
        raise ValueError(f"noise schedule {kind!r}: expected one of {KINDS}")
    if kind in ("linear", "cosine"):
        if num_steps < 1:
            raise ValueError(f"a discrete noise schedule needs num_steps >= 1, got {num_steps}")
        ab = (linear_alpha_bar if kind == "linear" else cosine_alpha_bar)(num_steps)
        log_snr = np.log(ab[1:]) - np.log1p(-ab[1:])
        return Schedule(jnp.asarray(ab, jnp.float32), jnp.asarray(log_snr, jnp.float32), kind, num_steps)
    if not log_snr_max > log_snr_min:
        raise ValueError(f"log_snr_max={log_snr_max} must exceed log_snr_min={log_snr_min}")
    empty = jnp.zeros((0,), jnp.float32)
    return Schedule(empty, empty, kind, 0, float(log_snr_max), float(log_snr_min))
