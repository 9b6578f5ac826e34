"""Mode collapse on mixtures of Gaussians: the protocol of Unrolled GAN / VEEGAN.

A sample is high quality when it lies within `num_std` standard deviations of
its nearest mode (Metz et al. 2017; Srivastava et al. 2017 use 3). A mode is
covered when at least `min_count` high-quality samples are nearest to it
(VEEGAN: 1; PacGAN's stricter protocol, Lin et al. 2018: 20 of 2,500 on
ring8). The KL divergence from the uniform mode distribution to the
histogram of high-quality samples over modes (as in PacGAN) shows how evenly
the modes are covered.
"""

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def assign_modes(samples: Array, modes: Array, std: float, num_std: float = 3.0) -> tuple[Array, Array]:
    """samples [N, D], modes [M, D] -> (nearest mode [N] int32, high quality [N] bool)."""
    d2 = jnp.sum(jnp.square(samples[:, None, :] - modes[None, :, :]), axis=-1)  # [N, M]
    nearest = jnp.argmin(d2, axis=-1).astype(jnp.int32)
    high_quality = jnp.sqrt(jnp.min(d2, axis=-1)) < num_std * std
    return nearest, high_quality


def mode_indicators(samples: Array, modes: Array, std: float, num_std: float = 3.0) -> dict[str, Array]:
    """Per-sample 0/1 indicators ('high_quality', 'mode_j'), for averaging over batches."""
    nearest, hq = assign_modes(samples, modes, std, num_std)
    out = {"high_quality": hq.astype(jnp.float32)}
    for j in range(modes.shape[0]):
        out[f"mode_{j}"] = (hq & (nearest == j)).astype(jnp.float32)
    return out


def summarize_counts(counts: np.ndarray, num_samples: int, min_count: int = 1) -> dict[str, float]:
    """Counts of high-quality samples per mode [M] -> modes covered, high-quality fraction, KL."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    hist = counts / total if total > 0 else np.zeros_like(counts)
    uniform = 1.0 / len(counts)
    nz = hist > 0
    kl = float(np.sum(hist[nz] * np.log(hist[nz] / uniform))) if total > 0 else float("inf")
    return {
        "modes_covered": float(np.sum(counts >= min_count)),
        "high_quality_fraction": float(total / num_samples),
        "mode_kl": kl,
    }


def mode_coverage(samples, modes, std: float, num_std: float = 3.0, min_count: int = 1) -> dict[str, float]:
    """All of the above for one set of samples [N, D]."""
    nearest, hq = assign_modes(jnp.asarray(samples), jnp.asarray(modes), std, num_std)
    counts = np.bincount(np.asarray(nearest)[np.asarray(hq)], minlength=len(modes))
    return summarize_counts(counts, len(samples), min_count)
