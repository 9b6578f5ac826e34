"""Average per-example metrics over a whole (padded, masked) dataset."""

from collections.abc import Callable, Iterable

import jax
import numpy as np

from jaxgen import rng as rng_lib


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


def evaluate_family(compiled_fns: dict[str, Callable], summarize: Callable, final: bool, params, batcher,
                    eval_batch_size: int, num_examples: int, put_batch: Callable, key: jax.Array,
                    finish: Callable | None = None) -> dict[str, float]:
    """A family's evaluation: each compiled per-example function averaged over the
    test split (first `num_examples`, 0 = all) with the key stream named after it,
    then the family's `summarize(averages, final)` and, when given, its
    `finish(params, key, metrics, final)` (model-level quantities such as log Z)."""
    out = {}
    for name, compiled in compiled_fns.items():
        batches = batcher.test_batches(eval_batch_size, num_examples)
        avg = average_over_batches(compiled, params, batches, put_batch, rng_lib.stream(key, name))
        out.update(summarize(avg, final))
    if finish is not None:
        out.update(finish(params, rng_lib.stream(key, "finish"), out, final))
    return out
