"""Memorisation checks: how close generated samples are to the training set,
compared with how close held-out real data are to it.

A model that copies training examples has nearest-training-neighbour
distances well below those of held-out data; one that generalises has a
similar distribution. Distances are computed in any space (pixels or a
feature net's features) with the sharded blocked search of distances.py (via neighbours.py).
"""

import os

import numpy as np

from jaxgen.eval import neighbours


def nearest_distances(queries, train, **kw) -> np.ndarray:
    """[N] distance from each query (flattened) to its nearest training example."""
    _, d = neighbours.nearest_neighbours(queries, train, 1, **kw)
    return d[:, 0]


def summarize(sample_nn: np.ndarray, heldout_nn: np.ndarray, prefix: str) -> dict[str, float]:
    """Medians of both distributions, their ratio (< 1: samples sit closer to the
    training set than held-out data do), and the fraction of samples closer than
    the 1st percentile of held-out distances (candidate copies; ~1% by chance)."""
    p1 = float(np.percentile(heldout_nn, 1))
    return {
        f"{prefix}_nn_median_samples": float(np.median(sample_nn)),
        f"{prefix}_nn_median_heldout": float(np.median(heldout_nn)),
        f"{prefix}_nn_median_ratio": float(np.median(sample_nn) / max(np.median(heldout_nn), 1e-12)),
        f"{prefix}_close_fraction": float(np.mean(sample_nn < p1)),
    }


def save_histogram(path: str, sample_nn: np.ndarray, heldout_nn: np.ndarray, space: str) -> None:
    """Overlaid histograms of nearest-training-neighbour distances (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    bins = np.linspace(0, max(sample_nn.max(), heldout_nn.max()), 50)
    ax.hist(heldout_nn, bins=bins, alpha=0.6, density=True, label=f"held-out real (n={len(heldout_nn)})")
    ax.hist(sample_nn, bins=bins, alpha=0.6, density=True, label=f"samples (n={len(sample_nn)})")
    ax.set_xlabel(f"distance to nearest training example ({space})")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
