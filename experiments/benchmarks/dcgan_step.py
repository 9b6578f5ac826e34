"""Benchmark the DCGAN training iteration (one D and one G update, MNIST 28x28 networks of
`dcgan.py:mnist`) beside the same networks in PyTorch CPU, in one run: compile time, steps/s,
examples/s, peak memory, and the ratio jaxgen / PyTorch.

  python -m experiments.benchmarks.dcgan_step --batch_sizes 64,256

jaxgen rows: the sub-pixel generator (the default) and, with --upsamples subpixel,transpose,
the paper's ConvTranspose generator; --devices 1,2 adds rows on N fake XLA CPU devices
(`--xla_force_host_platform_device_count=N`, one per core: data parallelism over the cores). PyTorch rows (experiments/benchmarks/torch_peers.py, the
bench extra): NCHW and channels_last; the ratio is against the faster. Each point runs in a
fresh subprocess (its own peak RSS) with the same threads. Prints a Markdown table.
"""

import argparse
import json

from experiments.benchmarks.step_timing import median_point, print_rows, torch_rows

WORKER = r"""
import json, sys
import numpy as np
from experiments import overrides
from experiments.benchmarks.step_timing import force_lowering, time_step
from experiments.configs import dcgan
from jaxgen.data import DataSpec

force_lowering(sys.argv[4])

batch, steps, upsample = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = overrides.apply(dcgan.get_config("mnist"), {"data.batch_size": batch, "model.upsample": upsample})
rng = np.random.default_rng(0)
def make_batch(i):
    return {"x": rng.random((batch, 28, 28, 1)).astype(np.float32), "label": rng.integers(0, 10, batch).astype(np.int32),
            "index": np.arange(i * batch, (i + 1) * batch, dtype=np.int32)}
row = time_step(config, DataSpec((28, 28, 1), 10, 256, 60000, 10000), make_batch, steps)
print(json.dumps({"batch": batch, "model": "DCGAN " + upsample, "lowering": sys.argv[4], **row}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--upsamples", default="subpixel")
    parser.add_argument("--devices", default="1", help="jaxgen rows on N fake XLA CPU devices each")
    parser.add_argument("--examples", type=int, default=6_000, help="examples timed per point")
    parser.add_argument("--lowerings", default="auto", help="jaxgen rows per convolution lowering: auto "
                        "(jaxgen.nn.Conv's per-shape choice) and / or one of jaxgen.nn.lowering.LOWERINGS for all")
    parser.add_argument("--repeats", type=int, default=1, help="runs per jaxgen point; the median is reported")
    parser.add_argument("--no_torch", action="store_true")
    args = parser.parse_args()
    rows = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        steps = max(10, args.examples // batch)
        for upsample in args.upsamples.split(","):
            for devices in [int(d) for d in args.devices.split(",")]:
                for low in args.lowerings.split(","):
                    rows.append({"framework": "jaxgen",
                                 **median_point(["-c", WORKER, str(batch), str(steps), upsample, low], devices, args.repeats)})
        if not args.no_torch:
            rows += torch_rows(["dcgan", str(batch), str(steps)], model="DCGAN subpixel")
    print_rows(rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
