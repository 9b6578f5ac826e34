"""Data parallelism over local devices: jit on a 1-D 'data' Mesh (default) or pmap.

Both run the same pure step. Under jit the batch is one global array sharded
on its leading axis and the state is replicated; XLA inserts the all-reduce.
Under pmap the state carries a leading device axis and the step calls
`lax.pmean` itself.

Several processes (jax.distributed, `experiments.launch --distributed`): the jit Mesh spans the
chosen devices of every process, each process feeds its own rows of the global batch
(`jax.make_array_from_process_local_data`), evaluation outputs are gathered to every host, and
`local` gives a host-local copy of the replicated state for what one process does alone
(samples, figures). pmap is one process only.
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxgen.data.pipeline import process_slice

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
        if jax.process_count() > 1:  # host values, the same on every process (a device's would be a cross-host copy)
            state = jax.tree.map(np.asarray, state)
        return jax.device_put(state, self.replicated)

    def get_state(self, state: Any) -> Any:
        """The state as one logical (unreplicated) pytree."""
        return state

    def put_batch(self, batch: dict) -> dict:
        """This process's rows of a global batch (all of it with one process) -> a global array."""
        if jax.process_count() == 1:  # one call for the whole batch: less host time per step
            return jax.device_put(batch, self.data_sharding)
        return {k: jax.make_array_from_process_local_data(self.data_sharding, v) for k, v in batch.items()}

    def put_eval_batch(self, batch: dict) -> dict:
        """A whole global evaluation batch, the same on every process: each feeds its rows."""
        if jax.process_count() > 1:
            batch = {k: v[process_slice(0, len(v), jax.process_index(), jax.process_count())] for k, v in batch.items()}
        return self.put_batch(batch)

    def local(self, tree: Any) -> Any:
        """A host-local copy of replicated global arrays (itself with one process)."""
        if jax.process_count() == 1:
            return tree
        return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)), tree)

    def compile_step(self, step_fn) -> Any:
        fn = functools.partial(step_fn, axis_name=None)
        return jax.jit(fn, in_shardings=(self.replicated, self.data_sharding), out_shardings=(self.replicated, self.replicated), donate_argnums=0)

    def compile_eval(self, fn, num_extra: int = 0) -> Any:
        """fn(params, batch, key, *extra) -> per-example outputs, sharded like the batch (with
        several processes, gathered: every host gets the whole batch's outputs); the
        `num_extra` trailing arguments (e.g. a log Z computed once per evaluation) replicated."""
        shardings = (self.replicated, self.data_sharding) + (self.replicated,) * (1 + num_extra)
        compiled = jax.jit(fn, in_shardings=shardings, out_shardings=self.data_sharding)
        if jax.process_count() == 1:
            return compiled
        return lambda *args: multihost_utils.process_allgather(compiled(*args), tiled=True)


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

    def local(self, tree: Any) -> Any:
        return tree

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
    """Data parallelism `name` over the first `num_devices` local devices of every process (-1:
    all), listed process by process."""
    by_process: dict[int, list] = {}
    for d in sorted(jax.devices(), key=lambda d: (d.process_index, d.id)):
        by_process.setdefault(d.process_index, []).append(d)
    take = (lambda ds: ds) if num_devices <= 0 else (lambda ds: ds[:num_devices])
    devices = [d for p in sorted(by_process) for d in take(by_process[p])]
    return PARALLEL[name](devices)
