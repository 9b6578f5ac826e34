"""Seconds per training step of flow configs on a random batch of their data's shape (one
compiling call, then the mean of --steps calls): what the MNIST configs are sized by.

  python -m experiments.benchmarks.flow_step experiments/configs/glow.py:mnist \\
      experiments/configs/realnvp.py:mnist --config.model.features=64

Overrides after the configs (--config.KEY=VALUE) apply to each of them.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import overrides
from jaxgen.data.pipeline import DataSpec
from jaxgen.data.sources import SHAPES
from jaxgen.families import FAMILIES
from jaxgen.train import state as state_lib


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="+", help="config files with variants (FILE.py:VARIANT)")
    p.add_argument("--steps", type=int, default=10)
    args, rest = p.parse_known_args(argv)
    changes = {}
    for flag in rest:
        key, _, value = flag.removeprefix("--config.").partition("=")
        if not flag.startswith("--config.") or not value:
            p.error(f"{flag!r}: expected --config.KEY=VALUE")
        changes[key] = overrides.parse_value(value)
    for spec_name in args.configs:
        config = overrides.apply(overrides.load_config_file(spec_name), changes)
        shape = SHAPES[config.data.name]
        spec = DataSpec(shape, 10, 256 if config.data.name != "digits" else 17, 1000, 1000)
        family = FAMILIES[config.family].build(config, spec)
        b = config.data.batch_size
        levels = np.random.default_rng(0).integers(0, spec.num_bins, (b, *shape))
        batch = {"x": jnp.asarray(levels / (spec.num_bins - 1), jnp.float32), "index": jnp.arange(b),
                 "label": jnp.zeros(b, jnp.int32)}
        params = jax.jit(family.init_params)(jax.random.key(0), batch)
        state = state_lib.create(params, family.step.init(params), jax.random.key(1), ema=False, ema_keys=None)
        step = jax.jit(lambda s, x, f=family: f.step(s, x))
        t0 = time.perf_counter()
        state, metrics = step(state, batch)
        jax.block_until_ready(metrics)
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(args.steps):
            state, metrics = step(state, batch)
        jax.block_until_ready(metrics)
        per_step = (time.perf_counter() - t0) / args.steps
        count = sum(np.size(x) for x in jax.tree.leaves(params))
        print(f"{spec_name} {changes or ''}: {count:,} parameters, compile + first step {compile_s:.1f} s, "
              f"{per_step:.3f} s per step")


if __name__ == "__main__":
    main()
