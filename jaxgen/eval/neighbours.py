"""Nearest training neighbours of generated samples (memorisation check).

Squared Euclidean distances are computed in chunks of the training set as
||a||^2 - 2 a.b + ||b||^2 (one matmul per chunk), keeping the k best so far,
so 60,000 MNIST images need no [N, 60000] matrix at once.
"""

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


@jax.jit
def _squared_distances(queries: Array, chunk: Array) -> Array:
    """[N, D], [M, D] -> [N, M]."""
    return jnp.sum(queries**2, 1)[:, None] - 2.0 * queries @ chunk.T + jnp.sum(chunk**2, 1)[None, :]


def nearest_neighbours(queries, train, k: int = 3, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """queries [N, ...], train [M, ...] (same feature shape) -> (indices [N, k], distances [N, k]), nearest first."""
    q = jnp.asarray(np.asarray(queries, np.float32).reshape(len(queries), -1))
    best_d = np.full((len(q), 0), np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for lo in range(0, len(train), chunk):
        block = jnp.asarray(np.asarray(train[lo:lo + chunk], np.float32).reshape(-1, q.shape[1]))
        d2 = np.asarray(_squared_distances(q, block))
        cand_d = np.concatenate([best_d, d2], 1)
        cand_i = np.concatenate([best_i, np.arange(lo, lo + len(block))[None, :].repeat(len(q), 0)], 1)
        order = np.argsort(cand_d, axis=1)[:, :k]
        best_d = np.take_along_axis(cand_d, order, 1)
        best_i = np.take_along_axis(cand_i, order, 1)
    return best_i, np.sqrt(np.maximum(best_d, 0.0))


def neighbour_grid(samples: np.ndarray, train: np.ndarray, k: int = 3, sample_features=None,
                   train_features=None) -> np.ndarray:
    """Rows of [sample | its k nearest training images]: [N * (k + 1), H, W, C] for image_grid(num_cols=k + 1).
    Neighbours in pixel space, or in a feature space when both feature arrays are given."""
    if (sample_features is None) != (train_features is None):
        raise ValueError("sample_features and train_features: give both (feature space) or neither (pixels)")
    if sample_features is None:
        idx, _ = nearest_neighbours(samples, train, k)
    else:
        idx, _ = nearest_neighbours(sample_features, train_features, k)
    rows = [np.concatenate([samples[i:i + 1], np.asarray(train)[idx[i]]], 0) for i in range(len(samples))]
    return np.concatenate(rows, 0)
