"""What a classical fitter hands `jaxgen.train.fit` (the table is jaxgen/families/fits.py)."""

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class FitData:
    x: np.ndarray  # [N, D] float32 training examples, flattened (images in [0, 1], or binarised)
    y: np.ndarray | None  # [N] labels, None when unlabelled
    x_test: np.ndarray
    y_test: np.ndarray | None
    shape: tuple[int, ...]  # one example's shape before flattening
    num_classes: int


@dataclasses.dataclass(frozen=True)
class FitResult:
    params: Any  # pytree of arrays (flax struct dataclasses): the checkpointed model
    metrics: dict[str, float]  # final metrics, e.g. mean test log-likelihood in nats
    samples: np.ndarray | None = None  # [n, *shape] in [0, 1] for images, raw for 2-D data
    tables: dict[str, str] = dataclasses.field(default_factory=dict)  # file name -> markdown written to the workdir


@dataclasses.dataclass(frozen=True)
class FitEntry:
    fit: Callable[..., FitResult]  # (config, FitData, key, report) -> FitResult
    validate: Callable[[Any, tuple[int, ...] | None, list[str]], None]  # (config, data shape, errors)
