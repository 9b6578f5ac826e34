"""python -m tests.train.kill_at CONFIG_MODULE VARIANT WORKDIR STEP [KEY=VALUE ...]

Runs experiments/configs/CONFIG_MODULE.py:VARIANT (with the overrides) through the run shell
and kills its own process with SIGKILL right after step STEP's checkpoint is written: a crash
at a chosen step, not a race against a polling test.
"""

import importlib
import os
import signal
import sys


def main(argv: list[str]) -> None:
    module, variant, workdir, step, *settings = argv
    from experiments import overrides
    from jaxgen.run import train_and_evaluate
    from jaxgen.train.stepped import Hook

    config = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
    config = overrides.apply(config, {k: overrides.parse_value(v) for k, v in (s.split("=", 1) for s in settings)})

    def kill(writer, done, params, final):
        if done == int(step) and not final:
            os.kill(os.getpid(), signal.SIGKILL)
        return {}

    train_and_evaluate(config, workdir, hooks=(Hook(int(step), kill),))


if __name__ == "__main__":
    main(sys.argv[1:])
