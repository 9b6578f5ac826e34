"""Joining a multi-process run: `experiments.launch --distributed` on every process.

  # 2 hosts (or 2 processes on one machine), each with its own devices:
  python -m experiments.launch --config ... --workdir /shared/run --distributed \\
      --coordinator_address=host0:12355 --num_processes=2 --process_id=0     # on host 0
  ... --process_id=1                                                          # on host 1

Without the three values JAX detects them from the cluster's environment (SLURM's srun, TPU pod
slices, Open MPI, Kubernetes). On CPU the processes' collectives go through gloo, the CPU
implementation jaxlib ships. The workdir must be on a file system every process sees.
"""

import jax

CPU_COLLECTIVES = "gloo"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """jax.distributed.initialize with the given values (None: detected from the cluster), CPU
    collectives through gloo; call it before anything touches a device."""
    given = {"coordinator_address": coordinator_address, "num_processes": num_processes, "process_id": process_id}
    if any(v is not None for v in given.values()) and any(v is None for v in given.values()):
        missing = ", ".join(f"--{k}" for k, v in given.items() if v is None)
        raise ValueError(f"--distributed: give all of --coordinator_address, --num_processes and --process_id, "
                         f"or none of them (cluster detection); missing {missing}")
    if num_processes is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"--process_id={process_id}: expected 0 <= process_id < --num_processes={num_processes}")
    jax.config.update("jax_cpu_collectives_implementation", CPU_COLLECTIVES)
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
