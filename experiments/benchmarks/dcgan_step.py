"""Benchmark the DCGAN training step (one D and one G update, MNIST 28x28):
compile time, steps/s, examples/s, peak memory, for the sub-pixel generator
(jaxgen's default) and the paper's ConvTranspose generator side by side.

  python -m experiments.benchmarks.dcgan_step --batch_sizes 64,256 --upsamples subpixel,transpose

Each point runs in a fresh subprocess (its own peak RSS). Prints a Markdown table.
"""

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, sys
import numpy as np
from experiments import overrides
from experiments.benchmarks.step_timing import time_step
from experiments.configs import dcgan
from jaxgen.data import DataSpec

batch, steps, upsample = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = overrides.apply(dcgan.get_config("mnist"), {"data.batch_size": batch, "model.upsample": upsample})
rng = np.random.default_rng(0)
def make_batch(i):
    return {"x": rng.random((batch, 28, 28, 1)).astype(np.float32), "label": rng.integers(0, 10, batch).astype(np.int32),
            "index": np.arange(i * batch, (i + 1) * batch, dtype=np.int32)}
row = time_step(config, DataSpec((28, 28, 1), 10, 256, 60000, 10000), make_batch, steps)
print(json.dumps({"batch": batch, "upsample": upsample, **row}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--upsamples", default="subpixel,transpose")
    parser.add_argument("--examples", type=int, default=10_000, help="examples timed per point")
    args = parser.parse_args()
    rows = []
    for upsample in args.upsamples.split(","):
        for batch in [int(b) for b in args.batch_sizes.split(",")]:
            steps = max(10, args.examples // batch)
            env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", ""))
            out = subprocess.run([sys.executable, "-c", WORKER, str(batch), str(steps), upsample], env=env,
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(f"device: {jax_device()}")
    print("| generator upsampling | batch | compile (s) | steps/s | examples/s | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['upsample']} | {r['batch']} | {r['compile_s']:.2f} | {r['steps_per_s']:.2f} | "
              f"{r['examples_per_s']:.0f} | {r['peak_rss_mib']:.0f} |")


def jax_device() -> str:
    import jax

    return str(jax.devices()[0].device_kind)


if __name__ == "__main__":
    main()
