"""Sample-quality metrics on feature vectors: pure functions of arrays.

Every metric takes features of real and generated samples ([N, D] arrays from
any feature function: jaxgen's in-repo classifiers, see jaxgen/eval/features.py,
or a user's own network), so the same code measures every family.

- Frechet distance (Heusel et al. 2017, "FID" on Inception features):
  ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)).
  tr (S_r S_g)^(1/2) is computed as sum_i sqrt(lambda_i) of the symmetric PSD
  matrix S_r^(1/2) S_g S_r^(1/2) (same eigenvalues as S_r S_g), with symmetric
  eigendecompositions only: no non-symmetric sqrtm and no complex parts.
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / D + 1)^3, averaged over random subsets, with its spread.
- Inception-Score analogue (Salimans et al. 2016) from a classifier's logits:
  exp E_x KL(p(y|x) || p(y)), mean and std over splits.
- Improved precision and recall (Kynkaanniemi et al. 2019): the manifold of a
  set is the union of balls around its points with radius the distance to the
  k-th nearest neighbour; precision = fraction of generated points inside the
  real manifold, recall = fraction of real points inside the generated one.
- Density and coverage (Naeem et al. 2020): density = mean number of real
  balls containing a generated point / k; coverage = fraction of real balls
  that contain at least one generated point.

The k-NN searches and KID run under jit over all local devices (the searches split query
rows, jaxgen/eval/distances.py; KID splits its subsets); values do not depend on the device
count. FID's statistics and D x D linear algebra run in float64 with NumPy on the host.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from jaxgen.eval import distances

Array = jax.Array


def _check_features(name: str, x) -> None:
    if np.ndim(x) != 2 or len(x) < 2:
        raise ValueError(f"{name}: expected features [N >= 2, D], got shape {np.shape(x)}")


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] of features [N, D], in float64 on the host
    (centred first: no cancellation)."""
    x = np.asarray(features, np.float64)
    mu = x.mean(0)
    centred = x - mu
    return mu, centred.T @ centred / (x.shape[0] - 1)


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(cov)
    return (v * np.sqrt(np.maximum(w, 0.0))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Frechet (2-Wasserstein) distance^2 between N(mu1, cov1) and N(mu2, cov2), in float64
    on the host: in float32 a small distance with a large trace loses about 1% and nearly
    singular covariances (a collapsed generator's) lose most of it."""
    mu1, cov1, mu2, cov2 = (np.asarray(a, np.float64) for a in (mu1, cov1, mu2, cov2))
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    middle = 0.5 * (middle + middle.T)
    trace_sqrt = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh(middle), 0.0)))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt)


def fid(real_features, fake_features) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (float32 inputs are
    fine: the statistics and the D x D linear algebra run in float64)."""
    _check_features("real_features", real_features)
    _check_features("fake_features", fake_features)
    (mu1, cov1), (mu2, cov2) = gaussian_stats(real_features), gaussian_stats(fake_features)
    return frechet_distance(mu1, cov1, mu2, cov2)


def polynomial_kernel(x: Array, y: Array) -> Array:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: Array, y: Array) -> Array:
    """Unbiased MMD^2 estimate (U-statistic) with the cubic polynomial kernel."""
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sxx = (jnp.sum(kxx) - jnp.trace(kxx)) / (m * (m - 1))
    syy = (jnp.sum(kyy) - jnp.trace(kyy)) / (n * (n - 1))
    return sxx + syy - 2.0 * jnp.mean(kxy)


@functools.partial(jax.jit, static_argnames=("num_subsets", "subset_size", "mesh"))
def _kid_subsets(real: Array, fake: Array, key: Array, num_subsets: int, subset_size: int, mesh) -> Array:
    """MMD^2 of each subset; the subsets are split over the mesh's devices (each keyed by
    its index, so the values do not depend on the device count)."""
    n_dev = mesh.devices.size
    padded = -(-num_subsets // n_dev) * n_dev
    keys = jax.random.key_data(jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(padded)))

    def local(ks, r_all, f_all):
        def one(k):
            kr, kf = jax.random.split(jax.random.wrap_key_data(k))
            r = r_all[jax.random.choice(kr, r_all.shape[0], (subset_size,), replace=False)]
            f = f_all[jax.random.choice(kf, f_all.shape[0], (subset_size,), replace=False)]
            return mmd2_unbiased(r, f)

        return jax.lax.map(one, ks)

    spec = PartitionSpec(distances.AXIS)
    out = jax.shard_map(local, mesh=mesh, in_specs=(spec, PartitionSpec(), PartitionSpec()), out_specs=spec)(
        keys, real, fake)
    return out[:num_subsets]


def kid(real_features, fake_features, key: Array, num_subsets: int = 100, subset_size: int = 1000) -> dict[str, float]:
    """KID: mean of the unbiased MMD^2 over `num_subsets` random subsets of
    `subset_size` from each set (capped at the smaller set), with the std over
    subsets and the standard error of the mean (std / sqrt(num_subsets); the
    subsets overlap, so this understates the error when the sets are small)."""
    _check_features("real_features", real_features)
    _check_features("fake_features", fake_features)
    if num_subsets < 2:
        raise ValueError(f"num_subsets={num_subsets}: need >= 2 for a spread")
    size = min(subset_size, len(real_features), len(fake_features))
    values = np.asarray(_kid_subsets(jnp.asarray(real_features, jnp.float32), jnp.asarray(fake_features, jnp.float32),
                                     key, num_subsets, size, distances.default_mesh()), np.float64)
    std = float(values.std(ddof=1))
    return {"kid": float(values.mean()), "kid_std": std, "kid_se": std / np.sqrt(num_subsets)}


def inception_score(logits, num_splits: int = 10) -> dict[str, float]:
    """exp(E_x KL(p(y|x) || p(y))) on each of `num_splits` splits: mean and std."""
    logits = jnp.asarray(logits, jnp.float32)
    if logits.ndim != 2 or len(logits) < num_splits:
        raise ValueError(f"logits: expected [N >= num_splits={num_splits}, classes], got shape {logits.shape}")
    scores = []
    for part in np.array_split(np.arange(len(logits)), num_splits):
        logp = jax.nn.log_softmax(logits[part])
        log_marginal = jax.nn.logsumexp(logp, axis=0) - np.log(len(part))
        kl = jnp.sum(jnp.exp(logp) * (logp - log_marginal), axis=1)
        scores.append(float(jnp.exp(jnp.mean(kl))))
    return {"inception_score": float(np.mean(scores)), "inception_score_std": float(np.std(scores))}


def precision_recall(real_features, fake_features, k: int = 3, **kw) -> dict[str, float]:
    """Improved precision and recall with k-NN manifolds (Kynkaanniemi et al. 2019; k = 3 there)."""
    _check_features("real_features", real_features)
    _check_features("fake_features", fake_features)
    real_radii = distances.kth_neighbour_distance(real_features, k, **kw)
    fake_radii = distances.kth_neighbour_distance(fake_features, k, **kw)
    precision = jnp.mean(distances.count_inside_balls(fake_features, real_features, real_radii, **kw) > 0)
    recall = jnp.mean(distances.count_inside_balls(real_features, fake_features, fake_radii, **kw) > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real_features, fake_features, k: int = 5, **kw) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020; k = 5 there)."""
    _check_features("real_features", real_features)
    _check_features("fake_features", fake_features)
    real_radii = distances.kth_neighbour_distance(real_features, k, **kw)
    density = jnp.mean(distances.count_inside_balls(fake_features, real_features, real_radii, **kw)) / k
    nearest_fake, _ = distances.nearest(real_features, fake_features, **kw)
    coverage = jnp.mean(nearest_fake**2 <= real_radii**2 * (1.0 + distances.BALL_RTOL))
    return {"density": float(density), "coverage": float(coverage)}
