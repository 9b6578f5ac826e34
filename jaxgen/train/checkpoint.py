"""Orbax checkpoints: every N steps and at the end, keep K, atomic, with fallback.

Orbax writes each checkpoint to a temporary directory and renames it when
complete, so a run killed mid-save leaves the previous ones intact. If the
latest checkpoint cannot be read, it is moved to `<dir>/../checkpoints_broken/`
(never deleted) with a warning, and the previous one is restored.
"""

import logging
import os
import shutil
from typing import Any

import jax
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


def _handlers() -> dict:
    return {"state": ocp.StandardCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}


def _restore_args(target: Any) -> ocp.args.Composite:
    """Restore 'state' into `target`'s structure / shardings, and 'meta' as JSON."""
    return ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore())


class Checkpointer:
    """Saves {'state': pytree, 'meta': json dict} under `directory/<step>`."""

    def __init__(self, directory: str, every_steps: int, keep: int):
        self.directory = os.path.abspath(directory)
        self.every_steps = every_steps
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, enable_async_checkpointing=False)
        self.manager = ocp.CheckpointManager(self.directory, options=options, item_handlers=_handlers())

    def should_save(self, step: int) -> bool:
        return self.every_steps > 0 and step % self.every_steps == 0

    def save(self, step: int, state: Any, meta: dict) -> None:
        if step in self.manager.all_steps():
            return
        args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
        self.manager.save(step, args=args, force=True)
        self.manager.wait_until_finished()

    def restore_latest(self, abstract_state: Any) -> tuple[Any, dict, int] | None:
        """Restore the newest readable checkpoint into `abstract_state`'s
        structure, shardings and dtypes. None when there is none."""
        for step in sorted(self.manager.all_steps(), reverse=True):
            try:
                restored = self.manager.restore(step, args=_restore_args(abstract_state))
                return restored["state"], dict(restored["meta"]), step
            except Exception as err:  # noqa: BLE001 - any unreadable checkpoint falls back
                self._quarantine(step, err)
        return None

    def _quarantine(self, step: int, err: Exception) -> None:
        src = os.path.join(self.directory, str(step))
        dst_dir = os.path.join(os.path.dirname(self.directory), "checkpoints_broken")
        os.makedirs(dst_dir, exist_ok=True)
        dst = os.path.join(dst_dir, f"{step}")
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.move(src, dst)
        self.manager.reload()
        log.warning("checkpoint at step %d is unreadable (%s: %s); moved it to %s and falling back",
                    step, type(err).__name__, err, dst)
        print(f"WARNING: checkpoint at step {step} is unreadable ({type(err).__name__}); moved to {dst}, falling back")

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def abstract(state: Any) -> Any:
    """ShapeDtypeStructs (with shardings) describing `state`, for restoring."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, state)


def load_latest(workdir: str) -> tuple[dict, dict, int]:
    """(state as nested dicts of arrays on the first local device, meta, step)
    of the newest checkpoint in `workdir/checkpoints`, without knowing the
    model, whatever device layout saved it."""
    manager = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"), item_handlers=_handlers())
    step = manager.latest_step()
    if step is None:
        raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    tree = manager.item_metadata(step)["state"]
    target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree)
    restored = manager.restore(step, args=_restore_args(target))
    manager.close()
    return restored["state"], dict(restored["meta"]), step
