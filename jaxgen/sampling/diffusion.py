"""Diffusion samplers over a denoiser, each one `lax.scan` (jit it; shard its batch as any other
array): DDPM ancestral sampling, DDIM with eta and strided sub-sequences, and a deterministic
second-order (Heun) solver of the probability-flow ODE on the EDM time discretisation.

A denoiser is `denoise(x_t [B, ...], t [B]) -> (x0_hat, eps_hat)` at times t in [0, 1] of the
schedule (jaxgen.losses.schedules); classifier-free guidance, clipping and the network live in
the denoiser, so every sampler guides the same way. DDPM and DDIM step through a discrete
schedule's steps i = T..1 (time i / T); the Heun sampler chooses noise levels and asks the
denoiser at the times that have them, so it also serves continuous schedules.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.losses.schedules import Schedule, posterior

Array = jax.Array
Denoiser = Callable[[Array, Array], tuple[Array, Array]]
DDPM_VARIANCES = ("beta", "beta_tilde")


def _full(x: Array, t) -> Array:
    return jnp.full((x.shape[0],), t, jnp.float32)


def _need_discrete(schedule: Schedule, what: str) -> None:
    if not schedule.discrete:
        raise ValueError(f"{what} steps through a discrete schedule's T steps; schedule {schedule.kind!r} is "
                         "continuous (use the Heun sampler)")


def _start(key: Array, shape: tuple[int, ...], x_init: Array | None, scale=1.0) -> Array:
    return jax.random.normal(key, shape) * scale if x_init is None else x_init * scale


def ddpm_sample(denoise: Denoiser, schedule: Schedule, key: Array, shape: tuple[int, ...],
                variance: str | Callable = "beta", x_init: Array | None = None) -> Array:
    """Ancestral sampling x_T ~ N(0, I), x_{i-1} ~ N(mu(x_i, x0_hat), var_i) for i = T..1, no noise
    at the last step. var: 'beta' (beta_i) or 'beta_tilde' (the posterior's) of Ho et al., or a
    callable (x_t, t) -> log-variance (learned variances, Nichol & Dhariwal). x_init: x_T instead
    of a draw from `key` (every sampler takes one; the step noise still comes from `key`)."""
    _need_discrete(schedule, "DDPM")
    if not callable(variance) and variance not in DDPM_VARIANCES:
        raise ValueError(f"DDPM variance {variance!r}: expected one of {DDPM_VARIANCES} or a function")
    T = schedule.num_steps
    ab = schedule.alpha_bar_table
    k0, k_steps = jax.random.split(key)

    def step(x, i):
        t = i / T
        x0_hat, _ = denoise(x, _full(x, t))
        c_x0, c_xt, var = posterior(jnp.sqrt(ab[i - 1]), jnp.sqrt(1 - ab[i - 1]), jnp.sqrt(ab[i]), jnp.sqrt(1 - ab[i]))
        mean = c_x0 * x0_hat + c_xt * x
        if callable(variance):
            log_var = variance(x, _full(x, t))
        else:
            log_var = jnp.log(1 - ab[i] / ab[i - 1]) if variance == "beta" else jnp.log(jnp.maximum(var, 1e-20))
        noise = jax.random.normal(jax.random.fold_in(k_steps, i), x.shape)
        return jnp.where(i > 1, mean + jnp.exp(0.5 * log_var) * noise, mean), None

    x, _ = jax.lax.scan(step, _start(k0, shape, x_init), jnp.arange(T, 0, -1))
    return x


def ddim_steps(num_steps: int, T: int) -> np.ndarray:
    """The strided sub-sequence tau_1 < ... < tau_S of 1..T, evenly spaced and ending at T
    (tau_i = round(i T / S)): the first step starts from the last training step (x_T ~ N(0, I)), and
    S = T gives every step. (Sub-sequences that start from 1 and stride up stop short of T and
    begin sampling at a noise level the model never saw as pure noise.)"""
    if not 1 <= num_steps <= T:
        raise ValueError(f"DDIM num_steps={num_steps}: must be in [1, T={T}]")
    return np.round(np.arange(1, num_steps + 1) * T / num_steps).astype(np.int32)


def ddim_sample(denoise: Denoiser, schedule: Schedule, key: Array, shape: tuple[int, ...], num_steps: int,
                eta: float = 0.0, x_init: Array | None = None) -> Array:
    """DDIM (Song et al. 2021): over the sub-sequence tau (ddim_steps), with alpha_bar at tau_0 = 1,
    x_{prev} = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - s^2) eps_hat + s z,
    s^2 = eta^2 (1 - ab_prev) / (1 - ab) (1 - ab / ab_prev). eta = 0: deterministic given x_T;
    eta = 1 on the full sequence: DDPM with the posterior variance beta-tilde."""
    _need_discrete(schedule, "DDIM")
    if eta < 0:
        raise ValueError(f"DDIM eta={eta}: must be >= 0")
    T = schedule.num_steps
    tau = jnp.asarray(ddim_steps(num_steps, T))
    prev = jnp.concatenate([jnp.zeros((1,), jnp.int32), tau[:-1]])
    ab = schedule.alpha_bar_table
    k0, k_steps = jax.random.split(key)

    def step(x, idx):
        i, j = tau[idx], prev[idx]
        x0_hat, eps_hat = denoise(x, _full(x, i / T))
        a, a_prev = ab[i], ab[j]
        var = eta**2 * (1 - a_prev) / (1 - a) * (1 - a / a_prev)
        noise = jax.random.normal(jax.random.fold_in(k_steps, i), x.shape)  # DDPM's noise at step i
        x = jnp.sqrt(a_prev) * x0_hat + jnp.sqrt(jnp.maximum(1 - a_prev - var, 0.0)) * eps_hat + jnp.sqrt(var) * noise
        return x, None

    x, _ = jax.lax.scan(step, _start(k0, shape, x_init), jnp.arange(num_steps - 1, -1, -1))
    return x


def edm_sigmas(num_steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> np.ndarray:
    """[N + 1] Karras et al. 2022's noise levels sigma_i = (sigma_max^(1/rho) + i / (N - 1)
    (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho for i < N, then sigma_N = 0."""
    if num_steps < 2:
        raise ValueError(f"EDM num_steps={num_steps}: must be >= 2")
    i = np.arange(num_steps, dtype=np.float64)
    s = (sigma_max ** (1 / rho) + i / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return np.concatenate([s, [0.0]])


def sigma_range(schedule: Schedule) -> tuple[float, float]:
    """(sigma_min, sigma_max), sigma = sigma_t / alpha_t = exp(-lambda / 2), over the times the
    model was trained on: [1 / T, 1] for a discrete schedule, [0, 1] for a continuous one."""
    t_min = 1.0 / schedule.num_steps if schedule.discrete else 0.0
    with jax.ensure_compile_time_eval():  # constants, also when called under jit
        lam = np.asarray(schedule.log_snr(jnp.array([t_min, 1.0])), np.float64)
    return float(np.exp(-lam[0] / 2)), float(np.exp(-lam[1] / 2))


def heun_sample(denoise: Denoiser, schedule: Schedule, key: Array, shape: tuple[int, ...], num_steps: int = 18,
                rho: float = 7.0, x_init: Array | None = None, max_sigma: float = 80.0) -> Array:
    """The probability-flow ODE dy/dsigma = (y - D(y, sigma)) / sigma in y = x_t / alpha_t (EDM's
    variance-exploding view of the VP process, sigma = sigma_t / alpha_t), solved by Heun's method
    over edm_sigmas (the last step to sigma = 0 is an Euler step): 2 N - 1 denoiser calls. D asks
    the denoiser at x_t = alpha y, at the time whose log-SNR is -2 log sigma. The levels span the
    schedule's trained range capped at max_sigma (EDM's 80 for data of unit scale: a discrete
    cosine schedule reaches sigma ~ 2e4, where 18 levels would spend their first steps on noise
    that the data cannot tell apart from pure noise; x_T is drawn at the cap)."""
    sigma_min, sigma_max = sigma_range(schedule)
    sigma_max = min(sigma_max, max_sigma)
    sigmas = jnp.asarray(edm_sigmas(num_steps, sigma_min, sigma_max, rho), jnp.float32)

    def d(y, sigma):  # dy/dsigma at noise level sigma > 0
        alpha = jax.lax.rsqrt(1.0 + sigma**2)
        t = schedule.time_of_log_snr(-2.0 * jnp.log(sigma))
        x0_hat, _ = denoise(alpha * y, _full(y, t))
        return (y - x0_hat) / sigma

    def step(y, idx):
        s, s_next = sigmas[idx], sigmas[idx + 1]
        slope = d(y, s)
        y_euler = y + (s_next - s) * slope
        second = jax.lax.cond(s_next > 0, lambda: 0.5 * (slope + d(y_euler, jnp.maximum(s_next, 1e-12))),
                              lambda: slope)
        return y + (s_next - s) * second, None

    y0 = _start(key, shape, x_init, jnp.sqrt(1.0 + sigmas[0] ** 2))  # x_T ~ N(0, I), alpha_T = 1 / sqrt(1 + s^2)
    y, _ = jax.lax.scan(step, y0, jnp.arange(num_steps))
    return y
