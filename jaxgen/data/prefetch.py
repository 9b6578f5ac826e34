"""Batches prepared ahead of the step that consumes them.

`Prefetcher(make, start, stop, depth)` calls make(step) for step = start, start + 1, ... on a
background thread and hands the results out in step order, at most `depth` ahead. A batch is a
pure function of its step (jaxgen/data/pipeline.py), so the order, and therefore exact resume,
is what it is without prefetching; the host work of the next batches (gathering, dynamic
binarisation, the transfer to the devices) overlaps the running step. An exception raised by
make(step) is raised again by the call that asks for that step. depth 0 makes each batch on
the calling thread when it is asked for (no thread; the pipeline on the critical path).
"""

import queue
import threading
from collections.abc import Callable
from typing import Any


def depth(setting: int, platform: str) -> int:
    """config.data.prefetch -> the depth to prefetch on `platform`: -1 (the default) is 2 on an
    accelerator and 0 on a CPU, where the thread takes a core from XLA's own threads: the loop
    ran vae.py:mnist at 90% of the bare step with 2 and 96% with 0 (BENCHMARKS.md)."""
    if setting >= 0:
        return setting
    return 0 if platform == "cpu" else 2


class Prefetcher:
    def __init__(self, make: Callable[[int], Any], start: int, stop: int, depth: int = 2):
        if depth < 0:
            raise ValueError(f"prefetch depth must be >= 0, got {depth}")
        self._make = make
        self._next = start
        self._stop = stop
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._closed = threading.Event()
        self._thread = None
        if depth > 0:
            self._thread = threading.Thread(target=self._fill, args=(start, stop), daemon=True, name="jaxgen-prefetch")
            self._thread.start()

    def _fill(self, start: int, stop: int) -> None:
        for step in range(start, stop):
            try:
                item = (step, self._make(step), None)
            except Exception as err:  # noqa: BLE001 -- handed to the consumer, raised there
                item = (step, None, err)
            while not self._closed.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._closed.is_set() or item[2] is not None:
                return

    def get(self, step: int) -> Any:
        """The batch of `step`, which must be the next one in order."""
        if step != self._next or step >= self._stop:
            raise ValueError(f"prefetcher expected step {self._next} (of [.., {self._stop})), got {step}")
        if self._thread is None:
            self._next += 1
            return self._make(step)
        got, batch, err = self._queue.get()
        self._next += 1
        if err is not None:
            raise err
        assert got == step
        return batch

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> "Prefetcher":  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()
