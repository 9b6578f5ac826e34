"""Nearest training neighbours of generated samples (memorisation check), as a
grid. The search is the blocked, device-sharded one of jaxgen/eval/distances.py:
queries go through in blocks against the whole training set, so 60,000 MNIST
images need no [N, 60000] matrix at once.
"""

import numpy as np

from jaxgen.eval import distances


def nearest_neighbours(queries, train, k: int = 3, **kw) -> tuple[np.ndarray, np.ndarray]:
    """queries [N, ...], train [M, ...] (same feature shape) -> (indices [N, k], distances [N, k]),
    nearest first; `kw` goes to distances.reduce_rows (block, mesh)."""
    q = np.asarray(queries, np.float32).reshape(len(queries), -1)
    t = np.asarray(train, np.float32).reshape(len(train), -1)
    d, idx = distances.k_nearest(q, t, k, **kw)
    return np.asarray(idx), np.asarray(d)


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
