"""Feature networks for the sample-quality metrics, offline.

A `FeatureNet` maps images ([N, H, W, C] in [0, 1]) to feature vectors (and,
when it is a classifier, logits for the Inception-Score analogue). Two
sources:

- `jaxgen.run.features.load_classifier(workdir)`: a jaxgen classifier trained
  by `experiments/configs/classifier.py`; its identity is the SHA-256 of its
  weights (`weights_digest`), recorded with every metric so that results from
  different feature nets never share a table.
- `from_function(fn, name)`: any user function (e.g. Inception weights a
  researcher has locally); `name` identifies it in the protocol.
"""

import dataclasses
import hashlib
from collections.abc import Callable

import jax
import numpy as np

from jaxgen.eval import distances

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class FeatureNet:
    name: str  # what the protocol records, e.g. "classifier:mnist"
    digest: str  # SHA-256 of the weights (or the name of a user function)
    input_shape: tuple[int, ...] | None  # [H, W, C] it expects (None: any)
    apply: Callable[[Array], tuple[Array | None, Array]]  # images -> (logits or None, features)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.digest[:12]}"


def weights_digest(params) -> str:
    """SHA-256 over every leaf's path, dtype, shape and bytes (order-independent of dict insertion)."""
    h = hashlib.sha256()
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    for path, leaf in sorted(leaves, key=lambda item: jax.tree_util.keystr(item[0])):
        arr = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{arr.dtype}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def from_function(fn: Callable[[Array], Array], name: str, logits_fn: Callable[[Array], Array] | None = None,
                  input_shape: tuple[int, ...] | None = None) -> FeatureNet:
    """Wrap a user's jit-able feature function (images in [0, 1] -> [N, D])."""
    if not name:
        raise ValueError("name: a user feature function needs a non-empty name for the protocol")

    def apply(x):
        return (logits_fn(x) if logits_fn is not None else None), fn(x)

    return FeatureNet(name, name, input_shape, apply)


def embed(net: FeatureNet, images, batch_size: int = 500, progress: Callable | None = None
          ) -> tuple[np.ndarray | None, np.ndarray]:
    """(logits [N, K] or None, features [N, D]) of images [N, H, W, C] in [0, 1], in
    batches split over the local devices (the last one padded so that one
    compilation serves all)."""
    images = np.asarray(images, np.float32)
    if net.input_shape is not None and tuple(images.shape[1:]) != tuple(net.input_shape):
        raise ValueError(f"images of shape {images.shape[1:]} for feature net {net.id} expecting {net.input_shape}")
    logits, feats = [], []
    n = len(images)
    for lo in range(0, n, batch_size):
        chunk = images[lo:lo + batch_size]
        pad = batch_size - len(chunk) if n > batch_size else 0
        batch = np.pad(chunk, ((0, pad),) + ((0, 0),) * (chunk.ndim - 1))
        lg, ft = net.apply(distances.shard_rows(batch))  # data-parallel over local devices
        feats.append(np.asarray(ft)[:len(chunk)])
        if lg is not None:
            logits.append(np.asarray(lg)[:len(chunk)])
        if progress is not None:
            progress(min(lo + batch_size, n))
    return (np.concatenate(logits) if logits else None), np.concatenate(feats)
