"""Benchmark the VAE training step beside the same network in PyTorch CPU, in one run:
compile time, steps/s, examples/s, peak memory, and the ratio jaxgen / PyTorch.

  python -m experiments.benchmarks.vae_step --archs mlp,conv --batch_sizes 128,1024

mlp is `vae.py:mnist` (784-512-512-2x50), conv `vae.py:mnist_conv` (3x3 stride-2 encoder,
sub-pixel decoder). PyTorch rows (experiments/benchmarks/torch_peers.py, the bench extra):
NCHW and channels_last; the ratio is against the faster. --devices 1,2 adds jaxgen rows on
N fake XLA CPU devices (`--xla_force_host_platform_device_count=N`) sharing the same cores.
Each point runs in a fresh subprocess (its own peak RSS). Prints a Markdown table.
"""

import argparse
import json

from experiments.benchmarks.step_timing import median_point, print_rows, torch_rows

WORKER = r"""
import json, sys
import numpy as np
from experiments import overrides
from experiments.benchmarks.step_timing import force_lowering, time_step
from experiments.configs import vae
from jaxgen.data import DataSpec

force_lowering(sys.argv[4])

batch, steps, arch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = overrides.apply(vae.get_config("mnist" if arch == "mlp" else "mnist_conv"), {"data.batch_size": batch})
rng = np.random.default_rng(0)
def make_batch(i):
    return {"x": (rng.random((batch, 28, 28, 1)) < 0.3).astype(np.float32),
            "index": np.arange(i * batch, (i + 1) * batch, dtype=np.int32)}
row = time_step(config, DataSpec((28, 28, 1), 10, 2, 60000, 10000), make_batch, steps, num_batches=8)
print(json.dumps({"batch": batch, "model": "VAE " + arch, "lowering": sys.argv[4], **row}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="1")
    parser.add_argument("--batch_sizes", default="128,1024")
    parser.add_argument("--archs", default="mlp,conv")
    parser.add_argument("--seconds", type=float, default=10.0, help="approximate timed seconds per point")
    parser.add_argument("--lowerings", default="auto", help="jaxgen rows per convolution lowering: auto "
                        "(jaxgen.nn.Conv's per-shape choice) and / or one of jaxgen.nn.lowering.LOWERINGS for all")
    parser.add_argument("--repeats", type=int, default=1, help="runs per jaxgen point; the median is reported")
    parser.add_argument("--no_torch", action="store_true")
    args = parser.parse_args()
    rows = []
    for arch in args.archs.split(","):
        for batch in [int(b) for b in args.batch_sizes.split(",")]:
            guess = {"mlp": 13_000, "conv": 500}[arch]  # examples/s, to size the timed loop
            steps = max(10, int(args.seconds * guess / batch))
            for devices in [int(d) for d in args.devices.split(",")]:
                for low in args.lowerings.split(",") if arch == "conv" else ["auto"]:
                    rows.append({"framework": "jaxgen",
                                 **median_point(["-c", WORKER, str(batch), str(steps), arch, low], devices, args.repeats)})
            if not args.no_torch:
                rows += torch_rows(["vae", str(batch), str(steps)], model="VAE " + arch, extra=[arch])
    print_rows(rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
