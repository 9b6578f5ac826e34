"""What a family hands the one training loop."""

import dataclasses
from collections.abc import Callable
from typing import Any

from jaxgen.data.pipeline import DataSpec
from jaxgen.train.steps import Step


@dataclasses.dataclass(frozen=True)
class Family:
    init_params: Callable  # (key, batch) -> params
    step: Step
    eval_fns: Callable[[bool], dict[str, Callable]]  # final? -> {name: (params, batch, key) -> {metric: [B]}}
    summarize: Callable[[dict[str, float], bool], dict[str, float]]  # (averages, final?) -> reported metrics
    sample: Callable | None = None  # (params, key, n) -> [n, *shape] in [0, 1] (images) or raw (2-D)
    # Top-level params entries the EMA tracks (None: all); evaluation swaps them in.
    ema_keys: tuple[str, ...] | None = None
    # Examples per step in units of config.data.batch_size (k discriminator minibatches).
    batch_multiplier: int = 1
    # (params, key, loaded data, workdir) -> {name: path}: extra figures written after training.
    artifacts: Callable | None = None


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    build: Callable[[Any, DataSpec], Family]
    validate: Callable[[Any, tuple[int, ...] | None, list[str]], None]
