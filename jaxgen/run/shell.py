"""The run shell: every run, whatever its family, goes through `train_and_evaluate`.

  python -m experiments.launch --config experiments/configs/vae.py:mnist --workdir runs/vae

It checks the config (every impossible value named before anything compiles or writes), loads
the data, writes config.json and data_spec.json, looks the family up in the one table
(jaxgen/families/) and hands it to the engine the table names: stepped (jaxgen/train/stepped.py:
resume, NaN stop, periodic evaluation, data parallelism) or one-call (jaxgen/train/one_call.py:
closed forms and EM). The metrics of `config.evals` (jaxgen/run/evaluate.py) run on a stepped
run's params every `evals.every_steps` steps and after training.
"""

import os

from jaxgen import data as data_lib
from jaxgen.data import protocol
from jaxgen.families import FAMILIES
from jaxgen.run import checks, workdirs
from jaxgen.train import one_call, stepped


def train_and_evaluate(config, workdir: str, hooks: tuple[stepped.Hook, ...] = ()) -> dict[str, float]:
    """Train (or fit) `config` in `workdir`, resuming from its checkpoints, and evaluate it.
    `hooks` (stepped families) run after the configured evaluators, each on its schedule, right
    after that step's checkpoint is written, and once on the final params.

    Returns the final metrics, also written to workdir/final_metrics.json.
    """
    checks.check(config)
    entry = FAMILIES[config.family]
    if entry.engine == "one_call":
        done = one_call.finished(workdir)
        if done is not None:
            return done
    loaded = data_lib.load(config.data)
    family = entry.build(config, loaded.spec)
    test = protocol_test_set(config, loaded, family)
    if entry.engine == "one_call":
        workdirs.write(workdir, config, loaded.spec, test)
        return one_call.fit_and_evaluate(config, workdir, family, loaded, test)
    step_batch = config.data.batch_size * family.batch_multiplier
    if step_batch > loaded.spec.num_train:
        raise checks.ConfigError(
            f"config.data.batch_size={config.data.batch_size}: {step_batch} examples per step (x"
            f"{family.batch_multiplier} minibatches) is more than the {loaded.spec.num_train} training examples")
    workdirs.write(workdir, config, loaded.spec, test)
    return stepped.train(config, workdir, family, loaded, test, hooks=_evaluators(config, workdir, loaded) + hooks)


def protocol_test_set(config, loaded, family, limit: int | None = None) -> protocol.TestSet:
    """The protocol's test set a run of `config` is measured on: the whole split for a one-call
    fit (uniformly dequantised where its family fits a density to grey levels), the first
    config.eval.num_examples for a stepped run; `limit` overrides the number of examples."""
    one_call = FAMILIES[config.family].engine == "one_call"
    if limit is None:
        limit = 0 if one_call else config.eval.num_examples
    if loaded.text is not None:
        return protocol.text_test_set(loaded.test, loaded.text.vocab.token_chars, loaded.text.test_text_checksum,
                                      config.data.name, limit, loaded.text.target_start)
    return protocol.test_set(loaded.test, loaded.scale, config.data.name, config.data.binarize, loaded.spec.num_bins,
                             limit, dequantized=one_call and family.dequantize)


def _evaluators(config, workdir: str, loaded) -> tuple[stepped.Hook, ...]:
    """The metrics of `config.evals` (FID, KID, precision / recall, modes, likelihood repeats,
    ...) on the EMA params every `evals.every_steps` steps (reports in workdir/eval/step_N)
    and after training (workdir/eval), written to the metrics stream as split 'evals'."""
    if "evals" not in config or not config.evals.metrics:
        return ()

    def run(writer, step: int, params, final: bool) -> dict[str, float]:
        from jaxgen.run.evaluate import evaluate

        out = os.path.join(workdir, "eval") if final else os.path.join(workdir, "eval", f"step_{step:07d}")
        evals = evaluate(config.evals, out, workdir=workdir, progress=config.train.progress and final,
                         params=(params, step), loaded=loaded)
        metrics = {k: v for k, v in evals["metrics"].items() if isinstance(v, float)}
        writer.write(step, "evals", metrics)
        if final:
            print(f"Evaluation report: {evals['report']['markdown']}")
        return {}

    return (stepped.Hook(config.evals.every_steps, run),)
