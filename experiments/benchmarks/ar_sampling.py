"""Pixel-by-pixel sampling of the autoregressive image models: the naive sampler (the whole
network on the whole image once per pixel) against the cached one (every layer once per pixel,
jaxgen/models/autoregressive.py), same key, in one run: seconds for N samples, the speed-up, and
the fraction of sampled pixels on which the two agree.

  python -m experiments.benchmarks.ar_sampling --workdir runs/gated_mnist --num 100
  python -m experiments.benchmarks.ar_sampling --config experiments/configs/pixelcnn.py:mnist --num 100

With --workdir the trained parameters of that run (its EMA when it keeps one); with --config a
freshly initialised network of that config (the samplers' cost does not depend on the weights).
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import overrides
from jaxgen.data.pipeline import DataSpec
from jaxgen.data.sources import SHAPES
from jaxgen.families.autoregressive import make_network, make_observation
from jaxgen.models import autoregressive as ar
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs


def _network_and_params(args):
    if args.workdir:
        config, _, params = evaluate_lib.load_run(args.workdir)
        spec = workdirs.load_spec(args.workdir)
    else:  # an untrained network: the dataset's shape, 10 classes, 256 levels
        config, params = overrides.load_config_file(args.config), None
        spec = DataSpec(SHAPES[config.data.name], 10, 256, 1, 1)
    shape = tuple(spec.shape)
    obs = make_observation(config, spec)
    net, steps = make_network(config, spec, obs)
    labels = jnp.zeros(1, jnp.int32) if config.model.conditional else None
    if params is None:
        params = net.init(jax.random.key(0), jnp.zeros((1, *shape)), labels)
    return config, shape, obs, net, steps, params


def _timed(fn, *args):
    jax.block_until_ready(fn(*args))  # compile (and a first run)
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default="")
    p.add_argument("--config", default="experiments/configs/pixelcnn.py:mnist_gated")
    p.add_argument("--num", type=int, default=100)
    p.add_argument("--out", default="", help="append the result as a JSON line to this file")
    args = p.parse_args()
    config, shape, obs, net, steps, params = _network_and_params(args)
    labels = jnp.arange(args.num) % 10 if config.model.conditional else None
    key = jax.random.key(0)
    fast = jax.jit(ar.make_fast_sample_fn(steps, obs, shape), static_argnums=2)
    naive = jax.jit(ar.make_naive_sample_fn(net, obs, shape), static_argnums=2)
    xf, t_fast = _timed(fast, params, key, args.num, labels)
    xn, t_naive = _timed(naive, params, key, args.num, labels)
    row = {"model": config.model.network, "features": config.model.features, "layers": config.model.layers,
           "samples": args.num, "shape": list(shape), "naive_s": round(t_naive, 3), "fast_s": round(t_fast, 3),
           "speedup": round(t_naive / t_fast, 1), "equal_pixels": float(np.mean(np.asarray(xf) == np.asarray(xn))),
           "device": jax.devices()[0].device_kind, "trained": bool(args.workdir)}
    print(json.dumps(row))
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
