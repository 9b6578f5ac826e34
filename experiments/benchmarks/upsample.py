"""Benchmark 2x upsampling layers on this host: flax ConvTranspose (k4, s2)
against the sub-pixel decomposition (3x3 conv to 4C channels + depth_to_space)
that jaxgen's ConvDecoder uses. Forward + backward, batch 64, 7x7x128 -> 14x14x64.

  python -m experiments.benchmarks.upsample
"""

import time

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn import depth_to_space


class Transposed(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.ConvTranspose(64, (4, 4), strides=(2, 2), padding="SAME")(x)


class SubPixel(nn.Module):
    @nn.compact
    def __call__(self, x):
        return depth_to_space(nn.Conv(4 * 64, (3, 3), padding="SAME")(x), 2)


def time_fwd_bwd(module: nn.Module, x, repeats: int = 30) -> float:
    params = module.init(jax.random.key(0), x)
    grad = jax.jit(jax.grad(lambda p, x: jnp.sum(module.apply(p, x) ** 2)))
    jax.block_until_ready(grad(params, x))
    t0 = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(grad(params, x))
    return (time.perf_counter() - t0) / repeats * 1e3


def main() -> None:
    x = jax.random.normal(jax.random.key(1), (64, 7, 7, 128))
    print("| layer | fwd+bwd (ms) |\n|---|---|")
    for name, module in (("ConvTranspose k4 s2", Transposed()), ("sub-pixel conv3x3 + depth_to_space", SubPixel())):
        print(f"| {name} | {time_fwd_bwd(module, x):.1f} |")


if __name__ == "__main__":
    main()
