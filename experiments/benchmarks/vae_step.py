"""Benchmark the VAE training step: compile time, steps/s, examples/s, peak memory.

  python -m experiments.benchmarks.vae_step --devices 1,2 --batch_sizes 128,1024

Each (devices, batch) point runs in a fresh subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=N, so peak RSS is its own.
On a CPU host the "devices" share the same cores: 2 fake devices measure the
overhead of the data-parallel path, not a speed-up. Prints a Markdown table.
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
from experiments.configs import vae
from jaxgen.data import DataSpec

batch, steps, arch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = overrides.apply(vae.get_config("mnist"), {"data.batch_size": batch, "model.architecture": arch})
rng = np.random.default_rng(0)
def make_batch(i):
    return {"x": (rng.random((batch, 28, 28, 1)) < 0.3).astype(np.float32),
            "index": np.arange(i * batch, (i + 1) * batch, dtype=np.int32)}
row = time_step(config, DataSpec((28, 28, 1), 10, 2, 60000, 10000), make_batch, steps, num_batches=8)
print(json.dumps({"batch": batch, "arch": arch, **row}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="1,2")
    parser.add_argument("--batch_sizes", default="128,1024")
    parser.add_argument("--archs", default="mlp,conv")
    parser.add_argument("--examples", type=int, default=200_000, help="examples timed per point")
    args = parser.parse_args()
    rows = []
    for arch in args.archs.split(","):
        for devices in [int(d) for d in args.devices.split(",")]:
            for batch in [int(b) for b in args.batch_sizes.split(",")]:
                steps = max(20, args.examples // batch // (8 if arch == "conv" else 1))
                env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
                           JAX_PLATFORMS="cpu")
                out = subprocess.run([sys.executable, "-c", WORKER, str(batch), str(steps), arch], env=env,
                                     capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    print("| model | devices | batch | compile (s) | steps/s | examples/s | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} | {r['devices']} | {r['batch']} | {r['compile_s']:.2f} | {r['steps_per_s']:.1f} | "
              f"{r['examples_per_s']:.0f} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
