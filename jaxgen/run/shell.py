"""The run shell: every run, whatever its family, goes through `train_and_evaluate`.

  python -m experiments.launch --config experiments/configs/vae.py:mnist --workdir runs/vae

It checks the config (every impossible value named before anything compiles or writes), loads
the data, writes config.json and data_spec.json, looks the family up in the one table
(jaxgen/families/) and hands it to the engine the table names: stepped (jaxgen/train/stepped.py:
resume, NaN stop, periodic evaluation, data parallelism) or one-call (jaxgen/train/one_call.py:
closed forms and EM). After a stepped run the sample metrics of `config.evals` run on its final
checkpoint (jaxgen/run/evaluate.py).
"""

import os

from jaxgen import data as data_lib
from jaxgen.data import protocol
from jaxgen.families import FAMILIES
from jaxgen.run import checks, workdirs
from jaxgen.train import one_call, stepped


def train_and_evaluate(config, workdir: str) -> dict[str, float]:
    """Train (or fit) `config` in `workdir`, resuming from its checkpoints, and evaluate it.

    Returns the final metrics, also written to workdir/final_metrics.json.
    """
    checks.check(config)
    entry = FAMILIES[config.family]
    if entry.engine == "one_call":
        done = one_call.finished(workdir)
        if done is not None:
            return done
    loaded = data_lib.load(config.data)
    # the whole test split for one-call fits; the first eval.num_examples for stepped runs
    limit = 0 if entry.engine == "one_call" else config.eval.num_examples
    test = protocol.test_set(loaded.test, loaded.scale, config.data.name, config.data.binarize, loaded.spec.num_bins,
                             limit)
    if entry.engine == "one_call":
        workdirs.write(workdir, config, loaded.spec, test)
        return one_call.fit_and_evaluate(config, workdir, entry.fit, loaded)
    family = entry.build(config, loaded.spec)
    step_batch = config.data.batch_size * family.batch_multiplier
    if step_batch > loaded.spec.num_train:
        raise checks.ConfigError(
            f"config.data.batch_size={config.data.batch_size}: {step_batch} examples per step (x"
            f"{family.batch_multiplier} minibatches) is more than the {loaded.spec.num_train} training examples")
    workdirs.write(workdir, config, loaded.spec, test)
    return stepped.train(config, workdir, family, loaded, test, after_training=_sample_metrics(config, workdir))


def _sample_metrics(config, workdir: str):
    """The evaluators of `config.evals` after training, on the final checkpoint."""
    if "evals" not in config or not config.evals.metrics:
        return None

    def run(writer, step: int) -> dict[str, float]:
        from jaxgen.run.evaluate import evaluate

        evals = evaluate(config.evals, os.path.join(workdir, "eval"), workdir=workdir, progress=config.train.progress)
        metrics = {k: v for k, v in evals["metrics"].items() if isinstance(v, float)}
        writer.write(step, "evals", metrics)
        print(f"Evaluation report: {evals['report']['markdown']}")
        return {}

    return run
