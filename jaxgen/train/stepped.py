"""The stepped engine: `train(config, workdir, family, loaded)` for every family that learns by
minibatch updates.

The run shell (jaxgen/run/) checks the config, loads the data, looks the family up and calls
this; what differs between families is the step kind they supply (jaxgen/train/steps.py). The
run is resumable: the step, params, optimizer, EMA and base key are checkpointed, and the data
position is a function of the step (jaxgen/data/pipeline.py); a stop signal writes a checkpoint
at the current step (jaxgen/train/preemption.py). Knows no family by name.
"""

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxgen
from jaxgen import data as data_lib
from jaxgen import rng as rng_lib
from jaxgen.data import prefetch
from jaxgen.eval import images
from jaxgen.eval import likelihood as likelihood_lib
from jaxgen.eval.dataset import average_over_batches
from jaxgen.train import parallel
from jaxgen.train import state as state_lib
from jaxgen.train.checkpoint import Checkpointer, abstract
from jaxgen.train.preemption import Guard, Preempted
from jaxgen.train.writers import MetricWriter, Progress


class NonFiniteLossError(FloatingPointError):
    """The loss or gradient became NaN or Inf."""


class _MetricSums:
    """The training metrics summed since the last log, and the first step whose loss or gradient
    was not finite. On one device (or a jit Mesh, whose metrics are replicated) the sums stay on
    the device: one small jitted add per step, one transfer per log, instead of fetching every
    step's scalars. With a pmap or on a multi-device CPU (which blocks on every step anyway) the
    step's metrics are fetched and summed on the host."""

    def __init__(self, on_device: bool):
        self.on_device = on_device
        self.count = 0
        self._sums = None

    @staticmethod
    @jax.jit
    def _add(sums, metrics, step):
        total, first_bad, bad_loss = sums
        means = {k: jnp.mean(v.astype(jnp.float32)) for k, v in metrics.items()}
        bad = (first_bad < 0) & ~jnp.all(metrics["finite"])
        return ({k: total[k] + means[k] for k in total}, jnp.where(bad, step, first_bad),
                jnp.where(bad, means["loss"], bad_loss))

    def add(self, step: int, metrics: dict) -> None:
        if self._sums is None:
            self._sums = ({k: np.float32(0.0) for k in metrics}, np.int32(-1), np.float32(0.0))
        if self.on_device:
            self._sums = self._add(self._sums, metrics, np.int32(step))
        else:
            host = jax.device_get(metrics)
            total, first_bad, bad_loss = self._sums
            if first_bad < 0 and not np.all(host["finite"]):
                first_bad, bad_loss = step, float(np.mean(host["loss"]))
            self._sums = ({k: total[k] + float(np.mean(host[k])) for k in total}, first_bad, bad_loss)
        self.count += 1

    def read(self) -> dict[str, float]:
        """The averages since the last read; raises NonFiniteLossError naming the first bad step."""
        total, first_bad, bad_loss = jax.device_get(self._sums)
        if first_bad >= 0:
            raise NonFiniteLossError(
                f"loss or gradient is NaN/Inf at step {int(first_bad)} (loss={float(bad_loss)}); the run stopped and "
                "the last good checkpoint is kept. Lower config.optim.lr or set config.optim.grad_clip_norm."
            )
        avg = {k: float(v) / self.count for k, v in total.items()}
        avg.pop("finite", None)
        self._sums, self.count = None, 0
        return avg


def _evaluate(cache: dict, family, par, params, batcher, test, config, key, final: bool) -> dict[str, float]:
    """The family's diagnostics averaged over the test split and its test log-likelihood under the
    protocol (`test`); `cache` keeps the compiled functions across evaluations. Returns the flat
    metrics and, in cache["likelihood_result"], the full result with its protocol."""
    out: dict[str, float] = {}
    batches = lambda: batcher.test_batches(config.data.eval_batch_size, config.eval.num_examples)
    if family.diagnostics is not None:
        if "diagnostics" not in cache:
            cache["diagnostics"] = par.compile_eval(family.diagnostics)
        avg = average_over_batches(cache["diagnostics"], params, batches(), par.put_eval_batch,
                                   rng_lib.stream(key, "diagnostics"))
        out.update(family.summarize(avg))
    spec = family.likelihood(final) if family.likelihood is not None else None
    cache["likelihood_result"] = None
    if spec is not None:
        if ("likelihood", final) not in cache:
            cache[("likelihood", final)] = par.compile_eval(spec.log_prob, num_extra=1)
        result = likelihood_lib.evaluate(spec, cache[("likelihood", final)], params, test, batches(),
                                         rng_lib.stream(key, "likelihood"), par.put_eval_batch)
        cache["likelihood_result"] = result
        out.update(result.metrics())
    return out


def _write_samples(sample_fn, params, key, config, loaded: data_lib.Loaded, writer, workdir, step) -> str | None:
    """Samples of the step: an image grid, a scatter over the test points (2-D data), or decoded
    text (token ids), to workdir/samples/ and TensorBoard."""
    if sample_fn is None:
        return None
    samples = np.asarray(sample_fn(params, key, config.eval.num_samples))
    shape = loaded.spec.shape
    if loaded.text is not None:
        path = os.path.join(workdir, "samples", f"step_{step:07d}.txt")
        texts = [loaded.text.vocab.decode(row) for row in samples]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("".join(f"--- sample {i}\n{t}\n" for i, t in enumerate(texts)))
        writer.write_text(step, "samples", "\n\n".join(f"    {t}".replace("\n", "\n    ") for t in texts))
        return path
    path = os.path.join(workdir, "samples", f"step_{step:07d}.png")
    if len(shape) == 4:  # videos: a row of frames per sample
        grid = images.save_image_grid(path, samples.reshape(-1, *shape[1:]), num_cols=shape[0],
                                      upscale=images.grid_upscale(shape[1]))
    elif len(shape) == 3:
        grid = images.save_image_grid(path, samples, upscale=images.grid_upscale(shape[0]))
    else:
        grid = images.save_scatter(path, samples, reference=loaded.test["x"][:2000])
    writer.write_image(step, "samples", grid)
    return path


@dataclasses.dataclass(frozen=True)
class Hook:
    """An evaluation the run shell hands the engine: `run(writer, step, params, final)` every
    `every` steps during training (0: never) and once on the final params; returns metrics that
    the final call adds to the final metrics."""

    every: int
    run: Callable[[MetricWriter, int, Any, bool], dict[str, float]]


def train(config, workdir: str, family, loaded: data_lib.Loaded, test, hooks: tuple[Hook, ...] = ()
          ) -> dict[str, float]:
    """Train `family` (a jaxgen.families.Family built from `config`) on `loaded` in `workdir`,
    resuming from its checkpoints, and evaluate it; its test log-likelihood is measured on the
    protocol's test set `test` (jaxgen/data/protocol.py) and written with its protocol to
    workdir/likelihood.json. Each of `hooks` runs on its schedule and once the
    final checkpoint is written and may return more final metrics (the shell's evaluators).

    Returns the final evaluation metrics, also written to workdir/final_metrics.json.
    """
    step_batch = config.data.batch_size * family.batch_multiplier
    par = parallel.make(config.train.parallel, config.train.num_devices)
    batcher = data_lib.Batcher(loaded.train, loaded.test, step_batch, config.seed, loaded.scale,
                               config.data.binarize, jax.process_index(), jax.process_count())
    is_main = jax.process_index() == 0
    os.makedirs(workdir, exist_ok=True)

    key = jax.random.key(config.seed)
    init_key, eval_key, sample_key = (rng_lib.stream(key, n) for n in ("init", "eval", "sample"))
    first = batcher.train_batch(0)
    params = jax.jit(family.init_params)(init_key, first)
    host_state = state_lib.create(params, family.step.init(params), rng_lib.stream(key, "train"),
                                  ema=config.train.ema_decay > 0, ema_keys=family.ema_keys)
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), config.checkpoint.every_steps, config.checkpoint.keep)
    restored = ckpt.restore_latest(abstract(host_state))
    start = 0
    if restored is not None:
        host_state, meta, start = restored
        print(f"Resuming from step {start} (epoch {meta['epoch']}, batch {meta['batch_in_epoch']}) in {ckpt.directory}")
    state = par.put_state(host_state)
    train_step = par.compile_step(family.step)
    writer = MetricWriter(workdir, enabled=is_main)
    num_steps = family.num_steps if family.num_steps is not None else config.train.num_steps
    progress = Progress(start, num_steps, enabled=is_main and config.train.progress)
    # XLA:CPU's all-reduce can deadlock when jit steps with collectives are
    # queued asynchronously; block per step there (cheap on CPU).
    sync_each_step = jax.devices()[0].platform == "cpu" and len(par.devices) > 1

    def save(step: int) -> None:
        epoch, batch_in_epoch = batcher.position(step)
        meta = {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "jaxgen": jaxgen.__version__}
        ckpt.save(step, par.get_state(state), meta)

    def eval_params():
        s = par.get_state(state)
        return state_lib.evaluation_params(s.params, s.ema_params, config.eval.use_ema)

    def write_samples(params, step: int) -> str | None:  # one process samples and writes
        if not is_main:
            return None
        return _write_samples(sample_fn, par.local(params), jax.random.fold_in(sample_key, step), config, loaded,
                              writer, workdir, step)

    def log_train(done: int) -> None:
        nonlocal t_log
        steps_since, avg = sums.count, sums.read()
        now = time.perf_counter()
        rate = steps_since / max(now - t_log, 1e-9)
        t_log = now
        avg.update(steps_per_s=rate, examples_per_s=rate * step_batch)
        writer.write(done, "train", avg)
        progress.update(done, avg)

    compiled_evals: dict = {}
    sample_fn = jax.jit(family.sample, static_argnums=2) if family.sample is not None else None  # labels: default
    sums = _MetricSums(on_device=not sync_each_step and config.train.parallel == "jit")
    t_start = t_log = time.perf_counter()
    batches = prefetch.Prefetcher(lambda i: par.put_batch(batcher.train_batch(i)), start, num_steps,
                                  prefetch.depth(config.data.prefetch, par.devices[0].platform))
    guard = Guard()
    with guard.installed(), contextlib.closing(batches):
        for step in range(start, num_steps):
            state, metrics = train_step(state, batches.get(step))
            if sync_each_step:
                jax.block_until_ready(metrics)
            sums.add(step, metrics)
            done = step + 1
            if done % config.train.log_every == 0 or done == num_steps or ckpt.should_save(done):
                log_train(done)
            if ckpt.should_save(done) and done != num_steps:
                save(done)
            every = config.eval.every_steps
            evaluate_now = every > 0 and done % every == 0 and done != num_steps
            due = [h for h in (hooks if is_main else ()) if h.every > 0 and done % h.every == 0 and done != num_steps]
            params_now = eval_params() if evaluate_now or due else None  # gathered once for this step's consumers
            if evaluate_now:
                results = _evaluate(compiled_evals, family, par, params_now, batcher, test, config,
                                    jax.random.fold_in(eval_key, done), False)
                writer.write(done, "eval", results)
                write_samples(params_now, done)
            for hook in due:
                hook.run(writer, done, par.local(params_now), False)
            if guard.requested(done) and done != num_steps:
                if sums.count:
                    log_train(done)
                save(done)
                progress.close()
                writer.close()
                ckpt.close()
                guard.chain()
                raise Preempted(guard.signal_name, done, ckpt.directory)
    progress.close()
    train_seconds = time.perf_counter() - t_start
    save(num_steps)
    final_params = eval_params()  # gathered once for the final evaluation, samples, figures and hooks
    local_params = par.local(final_params)
    results = _evaluate(compiled_evals, family, par, final_params, batcher, test, config,
                        jax.random.fold_in(eval_key, num_steps), True)
    if is_main and compiled_evals.get("likelihood_result") is not None:
        with open(os.path.join(workdir, "likelihood.json"), "w") as f:
            json.dump(compiled_evals["likelihood_result"].to_json(), f, indent=2)
    writer.write(num_steps, "final", results)
    sample_path = write_samples(final_params, num_steps)
    if family.artifacts is not None and is_main:
        for name, path in family.artifacts(local_params, rng_lib.stream(key, "artifacts"), loaded, workdir).items():
            print(f"{name}: {path}")
    ckpt.close()  # waits for the final checkpoint, which the evaluation reads
    for hook in hooks if is_main else ():
        results.update(hook.run(writer, num_steps, local_params, True))
    writer.close()
    if is_main:
        with open(os.path.join(workdir, "final_metrics.json"), "w") as f:
            json.dump({"step": num_steps, "train_seconds_this_session": train_seconds, **results}, f, indent=2)
        print("Final metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in results.items()))
        print(f"Samples:     {sample_path}")
        print(f"Metrics:     {os.path.join(workdir, 'metrics.jsonl')} (TensorBoard: {os.path.join(workdir, 'tensorboard')})")
        print(f"Checkpoints: {ckpt.directory}")
    return results
