"""The background prefetcher hands out make(step) in step order and re-raises make's errors."""

import threading
import time

import pytest

from jaxgen.data.prefetch import Prefetcher, depth


def test_batches_in_step_order_and_made_off_the_calling_thread():
    threads = set()

    def make(step):
        threads.add(threading.current_thread().name)
        time.sleep(0.001 * (step % 3))  # uneven host work
        return {"step": step}

    with Prefetcher(make, 5, 25, depth=3) as batches:
        got = [batches.get(step)["step"] for step in range(5, 25)]
    assert got == list(range(5, 25))
    assert threads == {"jaxgen-prefetch"}


def test_runs_ahead_at_most_depth_batches():
    made = []
    batches = Prefetcher(lambda step: made.append(step) or step, 0, 100, depth=2)
    try:
        time.sleep(0.3)
        # depth batches queued, plus the one made and waiting for a free slot
        assert len(made) <= 3
        assert batches.get(0) == 0
    finally:
        batches.close()
    assert not batches._thread.is_alive()  # closed, joined


def test_error_of_make_is_raised_for_its_step_and_order_is_enforced():
    def make(step):
        if step == 3:
            raise OSError("disk gone at step 3")
        return step

    with Prefetcher(make, 0, 10) as batches:
        with pytest.raises(ValueError, match="expected step 0"):
            batches.get(1)
        assert [batches.get(s) for s in range(3)] == [0, 1, 2]
        with pytest.raises(OSError, match="step 3"):
            batches.get(3)
    with pytest.raises(ValueError, match="depth"):
        Prefetcher(lambda s: s, 0, 1, depth=-1)


def test_depth_zero_makes_each_batch_on_the_calling_thread():
    threads = []
    with Prefetcher(lambda s: threads.append(threading.current_thread().name) or s, 2, 5, depth=0) as batches:
        assert [batches.get(s) for s in range(2, 5)] == [2, 3, 4]
    assert set(threads) == {threading.current_thread().name}


def test_automatic_depth_is_synchronous_on_cpu_only():
    assert depth(-1, "cpu") == 0
    assert depth(-1, "gpu") == 2 and depth(-1, "tpu") == 2
    assert depth(3, "cpu") == 3
