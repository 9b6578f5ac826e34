"""Average per-example metrics over a whole (padded, masked) dataset."""

from collections.abc import Callable, Iterable

import jax
import numpy as np


def average_over_batches(
    compiled_fn: Callable, params, batches: Iterable[dict], put_batch: Callable, key: jax.Array
) -> dict[str, float]:
    """Mean of each per-example output of compiled_fn(params, batch, key) over
    all examples whose 'mask' is 1. Outputs are {name: [B]}; the key is folded
    with the batch number."""
    sums: dict[str, float] = {}
    count = 0.0
    for i, batch in enumerate(batches):
        mask = batch["mask"]
        out = compiled_fn(params, put_batch(batch), jax.random.fold_in(key, i))
        for name, values in out.items():
            sums[name] = sums.get(name, 0.0) + float(np.sum(np.asarray(values, np.float64) * mask))
        count += float(mask.sum())
    return {name: total / count for name, total in sums.items()}
