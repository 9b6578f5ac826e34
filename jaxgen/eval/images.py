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
