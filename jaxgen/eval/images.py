"""PNG grids of image samples and scatter plots of 2-D samples."""

import os

import numpy as np
from PIL import Image


def grid_upscale(height: int) -> int:
    """Nearest-neighbour magnification that makes a grid cell about 112 pixels high."""
    return max(1, 112 // height)


def image_grid(images: np.ndarray, num_cols: int = 0, pad: int = 1) -> np.ndarray:
    """[N, H, W, C] floats in [0, 1] -> one [rows*(H+pad)+pad, cols*(W+pad)+pad, C] uint8 grid."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    cols = num_cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    pixels = np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = pixels[i]
    return grid


def save_image_grid(path: str, images: np.ndarray, num_cols: int = 0, upscale: int = 1) -> np.ndarray:
    """Write a PNG grid of `images` ([N, H, W, C] in [0, 1]); returns the grid."""
    grid = image_grid(images, num_cols)
    img = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if upscale > 1:
        img = img.resize((img.width * upscale, img.height * upscale), Image.NEAREST)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    img.save(path)
    return grid


def save_scatter(path: str, points: np.ndarray, reference: np.ndarray | None = None,
                 labels: np.ndarray | None = None) -> np.ndarray:
    """Scatter plot of 2-D samples (over optional reference data, coloured by
    optional integer labels) as a PNG; returns RGB pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="0.7", label="data")
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=2, c="C0", label="samples")
    else:
        for value in np.unique(labels):
            pts = points[labels == value]
            ax.scatter(pts[:, 0], pts[:, 1], s=2, c=f"C{int(value) % 10}", label=str(value))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=6)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return pixels


def density_grid(points: np.ndarray, size: int = 200, margin: float = 0.15) -> tuple[np.ndarray, tuple]:
    """A size x size grid over the bounding box of 2-D `points` (widened by `margin` of its
    extent): ([size * size, 2] grid points, (xmin, xmax, ymin, ymax))."""
    lo, hi = points.min(0), points.max(0)
    pad = margin * (hi - lo)
    lo, hi = lo - pad, hi + pad
    xs, ys = np.linspace(lo[0], hi[0], size), np.linspace(lo[1], hi[1], size)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], -1).astype(np.float32), (lo[0], hi[0], lo[1], hi[1])


def save_density_panels(path: str, data: np.ndarray, log_densities: dict, size: int = 200) -> None:
    """One PNG: a 2-D histogram of `data` [N, 2], then a heatmap of the log density per entry of
    `log_densities` ({title: fn([G, 2] points) -> [G] log densities}) on the same grid, shown
    from its maximum down to 12 nats below it (sharp modes stay visible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid, extent = density_grid(np.asarray(data), size)
    panels = 1 + len(log_densities)
    fig, axes = plt.subplots(1, panels, figsize=(3 * panels, 3), dpi=100)
    axes[0].hist2d(data[:, 0], data[:, 1], bins=size // 2, range=[extent[:2], extent[2:]], cmap="viridis")
    axes[0].set_title("data", fontsize=9)
    for ax, (title, fn) in zip(axes[1:], log_densities.items()):
        log_p = np.asarray(fn(grid), np.float64).reshape(size, size)
        top = np.max(log_p[np.isfinite(log_p)])
        ax.imshow(np.clip(log_p, top - 12.0, top), origin="lower", extent=extent, cmap="viridis", aspect="auto")
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
