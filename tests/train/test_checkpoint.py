"""Checkpoint retention and restore, on a tiny state without a run."""

import os

import jax.numpy as jnp
import numpy as np

from jaxgen.train.checkpoint import Checkpointer, abstract, load_latest


def test_keeps_the_newest_k_and_restores_the_latest(tmp_path):
    ckpt = Checkpointer(str(tmp_path / "checkpoints"), every_steps=2, keep=2)
    assert [s for s in range(1, 7) if ckpt.should_save(s)] == [2, 4, 6]
    for step in range(1, 6):
        ckpt.save(step, {"w": jnp.full((3,), float(step))}, {"step": step})
    ckpt.save(5, {"w": jnp.zeros(3)}, {"step": 99})  # a step already saved is not overwritten
    assert sorted(int(d) for d in os.listdir(tmp_path / "checkpoints") if d.isdigit()) == [4, 5]
    state, meta, step = ckpt.restore_latest(abstract({"w": jnp.zeros(3)}))
    ckpt.close()
    assert step == 5 and meta["step"] == 5
    np.testing.assert_array_equal(state["w"], [5.0, 5.0, 5.0])
    state, meta, step = load_latest(str(tmp_path))
    assert step == 5 and meta == {"step": 5}
    np.testing.assert_array_equal(state["w"], [5.0, 5.0, 5.0])
