"""Preemption: a stepped run told to stop (SIGTERM from a cluster scheduler, SIGINT from Ctrl-C,
SIGUSR2 from SLURM's `--signal` warning) finishes its current step, writes a checkpoint at it,
flushes its writers and raises `Preempted`; the launcher exits with `EXIT_CODE`, and restarting
with the same workdir resumes exactly there.

One process: the signal handlers set a flag the loop reads after every step. Several processes
(jax.distributed): the processes must stop at the same step, since a checkpoint is written by all
of them together. JAX's preemption service does that agreement: its notifier catches SIGTERM on
any process and `multihost_utils.reached_preemption_sync_point(step)` turns true at the same step
on all of them. SIGINT and SIGUSR2 are forwarded to it as SIGTERM.

A second SIGINT stops at once, without a checkpoint (the default Ctrl-C). After the checkpoint
a handler that was installed before the run (e.g. submitit's, which requeues a SLURM job) is
called with the signal.
"""

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

import jax

EXIT_CODE = 75  # EX_TEMPFAIL of sysexits.h: stopped early on request, a restart resumes
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)


class Preempted(Exception):
    """The run stopped on a signal after writing a checkpoint at `step`."""

    def __init__(self, signal_name: str, step: int, checkpoint_dir: str):
        self.signal_name, self.step = signal_name, step
        super().__init__(f"stopped by {signal_name} after step {step}; checkpoint written in {checkpoint_dir}. "
                         "Restart with the same --workdir to resume.")


class Guard:
    """The stop requests of one training loop: `requested(step)` after each step."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}
        self._multi = jax.process_count() > 1

    def _on_signal(self, signum: int, frame) -> None:
        if signum == signal.SIGINT and self.received is not None:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        if self.received is None:
            print(f"\n{signal.Signals(signum).name} received: finishing this step and writing a checkpoint "
                  "(Ctrl-C again to stop at once)", flush=True)
        self.received = signum
        if self._multi:
            os.kill(os.getpid(), signal.SIGTERM)  # to JAX's preemption notifier

    def requested(self, step: int) -> bool:
        """Whether to stop after `step` (the same answer on every process)."""
        if self._multi:
            from jax.experimental import multihost_utils

            return multihost_utils.reached_preemption_sync_point(step)
        return self.received is not None

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else "SIGTERM"

    def chain(self) -> None:
        """Call the handler that was installed before the run for the received signal, if any
        (Python's own Ctrl-C handler, which raises KeyboardInterrupt, is skipped)."""
        previous = self._previous.get(self.received)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(self.received, None)

    @contextlib.contextmanager
    def installed(self) -> Iterator["Guard"]:
        """The handlers, for the duration of the loop (not the final evaluation, which Ctrl-C
        interrupts as usual). Only in the main thread (Python delivers signals there)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        # several processes: SIGTERM stays with JAX's notifier, installed by jax.distributed
        mine = [s for s in SIGNALS if not (self._multi and s == signal.SIGTERM)]
        handler: Callable = self._on_signal
        for s in mine:
            self._previous[s] = signal.signal(s, handler)
        try:
            yield self
        finally:
            for s in mine:
                signal.signal(s, self._previous[s])
