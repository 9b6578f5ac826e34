"""Data parallelism over local devices: jit on a 1-D 'data' Mesh (default) or pmap.

Both run the same pure step. Under jit the batch is one global array sharded
on its leading axis and the state is replicated; XLA inserts the all-reduce.
Under pmap the state carries a leading device axis and the step calls
`lax.pmean` itself. Multi-host: call `jax.distributed.initialize()` first;
each process feeds its own slice of the global batch
(`jax.make_array_from_process_local_data`).
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


class MeshParallel:
    """jit with NamedSharding: batch split over `data`, state replicated."""

    name = "jit"

    def __init__(self, devices: list):
        self.devices = devices
        self.mesh = Mesh(np.asarray(devices), (AXIS,))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.data_sharding = NamedSharding(self.mesh, PartitionSpec(AXIS))

    def put_state(self, state: Any) -> Any:
        return jax.device_put(state, self.replicated)

    def get_state(self, state: Any) -> Any:
        """The state as one logical (unreplicated) pytree."""
        return state

    def put_batch(self, batch: dict) -> dict:
        if jax.process_count() == 1:  # one call for the whole batch: less host time per step
            return jax.device_put(batch, self.data_sharding)
        return {k: jax.make_array_from_process_local_data(self.data_sharding, v) for k, v in batch.items()}

    put_eval_batch = put_batch

    def compile_step(self, step_fn) -> Any:
        fn = functools.partial(step_fn, axis_name=None)
        return jax.jit(fn, in_shardings=(self.replicated, self.data_sharding), out_shardings=(self.replicated, self.replicated), donate_argnums=0)

    def compile_eval(self, fn, num_extra: int = 0) -> Any:
        """fn(params, batch, key, *extra) -> per-example outputs, sharded like the batch; the
        `num_extra` trailing arguments (e.g. a log Z computed once per evaluation) replicated."""
        shardings = (self.replicated, self.data_sharding) + (self.replicated,) * (1 + num_extra)
        return jax.jit(fn, in_shardings=shardings, out_shardings=self.data_sharding)


class PmapParallel:
    """jax.pmap over local devices with an explicit device axis."""

    name = "pmap"

    def __init__(self, devices: list):
        self.devices = devices
        self._mesh = MeshParallel(devices)  # evaluation always runs under jit

    def put_state(self, state: Any) -> Any:
        """Copies of `state` stacked on a leading device axis, one per device."""
        n = len(self.devices)
        stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), state)
        return jax.device_put(stacked, self._mesh.data_sharding)

    def get_state(self, state: Any) -> Any:
        """The first device's copy, read from its shard: indexing the stacked arrays (`x[0]`)
        would compile one gather with cross-device collectives per leaf, dispatched back to
        back, and XLA:CPU's all-reduce rendezvous deadlocked on those (2-core machine)."""
        return jax.tree.map(lambda x: np.asarray(x.addressable_shards[0].data).reshape(x.shape[1:]), state)

    def put_batch(self, batch: dict) -> dict:
        n = len(self.devices)
        batch = {k: v.reshape(n, v.shape[0] // n, *v.shape[1:]) for k, v in batch.items()}
        return jax.device_put(batch, self._mesh.data_sharding)

    def compile_step(self, step_fn) -> Any:
        fn = functools.partial(step_fn, axis_name=AXIS)
        return jax.pmap(fn, axis_name=AXIS, devices=self.devices, donate_argnums=0)

    def compile_eval(self, fn, num_extra: int = 0) -> Any:
        return self._mesh.compile_eval(fn, num_extra)

    def put_eval_batch(self, batch: dict) -> dict:
        return self._mesh.put_batch(batch)


PARALLEL = {"jit": MeshParallel, "pmap": PmapParallel}


def make(name: str, num_devices: int):
    """Data parallelism `name` over the first `num_devices` local devices (-1: all)."""
    devices = jax.local_devices()
    if num_devices > 0:
        devices = devices[:num_devices]
    return PARALLEL[name](devices)
