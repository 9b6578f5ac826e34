"""Seconds per training step of image-model configs (flows, diffusion: what their MNIST configs are
sized by), timed by the shared `step_timing.time_step` on random batches of their data's levels
(with random labels, for class-conditional models).

  python -m experiments.benchmarks.image_step experiments/configs/glow.py:mnist \\
      experiments/configs/realnvp.py:mnist --config.model.features=64

Overrides after the configs (--config.KEY=VALUE) apply to each of them.
"""

import argparse

import numpy as np

from experiments import overrides
from experiments.benchmarks.step_timing import time_step
from jaxgen.data import DataSpec
from jaxgen.data.sources import SHAPES


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
        shape, bins, b = SHAPES[config.data.name], 17 if config.data.name == "digits" else 256, config.data.batch_size
        rng = np.random.default_rng(0)

        def make_batch(i, shape=shape, bins=bins, b=b, rng=rng):
            return {"x": (rng.integers(0, bins, (b, *shape)) / (bins - 1)).astype(np.float32),
                    "label": rng.integers(0, 10, (b,)).astype(np.int32),
                    "index": np.arange(i * b, (i + 1) * b, dtype=np.int32)}

        row = time_step(config, DataSpec(shape, 10, bins, 60_000, 10_000), make_batch, args.steps)
        print(f"{spec_name} {changes or ''}: compile {row['compile_s']:.1f} s, {1 / row['steps_per_s']:.3f} s per step "
              f"({row['devices']} device(s), peak RSS {row['peak_rss_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
