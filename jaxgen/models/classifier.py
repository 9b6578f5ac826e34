"""Image classifier whose penultimate layer is the feature space of the
sample-quality metrics (jaxgen/eval/features.py).

Conv 3x3 -> ReLU -> 2x2 max pool per entry of `channels` (while the image is
at least 2 pixels high), the flattened maps into a Dense `feature_dim` ReLU
layer (the features), and the logits. Inputs are images in [0, 1]. With
(32, 64) and stem 2 a 28x28 image costs ~1.2 M multiply-adds: the feature
nets train in minutes on a CPU (BENCHMARKS.md).
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxgen.nn.conv import space_to_depth
from jaxgen.nn.layers import Conv

Array = jax.Array


class Classifier(nn.Module):
    num_classes: int
    channels: Sequence[int] = (32, 64)
    feature_dim: int = 128
    # space_to_depth block applied to the input first: 2 turns a 28x28x1 image into 14x14x4, so every
    # layer runs at half the resolution (4x the training steps/s on CPU, same MNIST test accuracy; BENCHMARKS.md).
    stem: int = 1

    @nn.compact
    def __call__(self, x: Array) -> tuple[Array, Array]:
        """[B, H, W, C] in [0, 1] -> (logits [B, classes], features [B, feature_dim])."""
        h = 2.0 * x - 1.0
        if self.stem > 1:
            h = space_to_depth(h, self.stem)
        for width in self.channels:
            h = nn.relu(Conv(width, (3, 3))(h))
            if min(h.shape[1:3]) >= 2:
                h = nn.max_pool(h, (2, 2), (2, 2))
        h = h.reshape(h.shape[0], -1)
        features = nn.relu(nn.Dense(self.feature_dim)(h))
        return nn.Dense(self.num_classes)(features), features


def make_loss_fn(model: Classifier):
    """(params, batch, key) -> (mean cross-entropy, metrics): the classifier's training loss."""

    def loss_fn(params, batch, key):
        del key
        logits, _ = model.apply(params, batch["x"])
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
        acc = (jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32)
        return jnp.mean(nll), {"loss": jnp.mean(nll), "accuracy": jnp.mean(acc)}

    return loss_fn


def make_eval_fn(model: Classifier):
    """Per-example test cross-entropy (nats) and 0/1 accuracy."""

    def eval_fn(params, batch, key):
        del key
        logits, _ = model.apply(params, batch["x"])
        return {"nll": optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]),
                "accuracy": (jnp.argmax(logits, -1) == batch["label"]).astype(jnp.float32)}

    return eval_fn
