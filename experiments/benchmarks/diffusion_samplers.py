"""Diffusion samplers side by side on one trained model: FID against the test set on the in-repo
feature net, and wall time per 1,000 samples, for DDIM with several step counts, the Heun solver
and the full DDPM chain.

  python -m experiments.benchmarks.diffusion_samplers --run runs/ddpm_mnist \\
      --feature_net runs/leaderboard_mnist/feature_net --out runs/diffusion_samplers \\
      --samplers ddim:10,ddim:20,ddim:50,ddim:100,heun:18,ddpm --num 2000

Every row draws --num samples in batches of --batch from the run's EMA parameters, timed after
the sampler is compiled ahead of time (compile time reported apart). FID with fewer than 10,000 samples is biased upwards:
compare rows of one table, not with the leaderboard's 10,000-sample FIDs. Writes OUT/samplers.md,
.json (appended row by row, so a rerun skips finished rows) and samplers.png (16 samples a row).
"""

import argparse
import json
import os
import platform
import time

import jax
import numpy as np
from tqdm import tqdm

from jaxgen import data as data_lib
from jaxgen.data.pipeline import to_model_input
from jaxgen.eval import images, metrics
from jaxgen.eval.features import embed
from jaxgen.families.diffusion import make_model
from jaxgen.models import diffusion as dm
from jaxgen.run import evaluate as evaluate_lib
from jaxgen.run import workdirs
from jaxgen.run.features import load_classifier


def _parse(spec: str) -> tuple[str, int]:
    name, _, steps = spec.partition(":")
    if name not in dm.SAMPLERS or (name != "ddpm" and not steps.isdigit()):
        raise SystemExit(f"--samplers: {spec!r} is not one of ddim:STEPS, heun:LEVELS, ddpm")
    return name, int(steps or 0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="workdir of a finished ddpm.py run on images")
    p.add_argument("--feature_net", required=True, help="workdir of a classifier.py run on the same data")
    p.add_argument("--out", required=True)
    p.add_argument("--samplers", default="ddim:10,ddim:20,ddim:50,ddim:100,heun:18,ddpm")
    p.add_argument("--num", type=int, default=2000, help="samples per sampler")
    p.add_argument("--batch", type=int, default=500)
    args = p.parse_args(argv)
    plan = [_parse(s) for s in args.samplers.split(",")]
    os.makedirs(args.out, exist_ok=True)
    config, _, params = evaluate_lib.load_run(args.run)
    spec = workdirs.load_spec(args.run)
    model = make_model(config, spec)
    loaded = data_lib.load(config.data)
    net = load_classifier(args.feature_net)
    _, real = embed(net, to_model_input(loaded.test["x"], loaded.scale))
    log = os.path.join(args.out, "samplers.json")
    rows = []
    if os.path.exists(log):
        with open(log) as f:
            rows = json.load(f)
    grids = {}
    for name, steps in plan:
        label = f"{name} {steps}" if name != "ddpm" else f"ddpm {model.schedule.num_steps}"
        grid_path = os.path.join(args.out, f"grid_{label.replace(' ', '_')}.npy")
        if any(r["sampler"] == label and r["num"] == args.num for r in rows) and os.path.exists(grid_path):
            grids[label] = np.load(grid_path)
            continue
        key = jax.random.key(0)
        t0 = time.perf_counter()
        draw = jax.jit(lambda k, n=name, s=steps: dm.sample(model, params, k, (args.batch, *spec.shape), n, s))
        draw = draw.lower(key).compile()  # ahead of time: no batch is drawn just to compile
        compile_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        batches = []
        for i in tqdm(range(-(-args.num // args.batch)), desc=label, unit="batch"):
            batches.append(np.asarray(draw(jax.random.fold_in(key, i))))
        seconds = time.perf_counter() - t0
        samples = np.concatenate(batches)[:args.num]
        grids[label] = samples[:16]
        np.save(grid_path, samples[:16])
        _, fake = embed(net, samples)
        calls = {"ddim": steps, "heun": 2 * steps - 1, "ddpm": model.schedule.num_steps}[name]
        row = {"sampler": label, "network_calls": calls, "num": args.num, "fid": metrics.fid(real, fake),
               "seconds_per_1000": 1000 * seconds / (len(batches) * args.batch), "compile_seconds": compile_seconds,
               "feature_net": net.id, "reference": f"{len(real)} test images", "run": args.run,
               "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d")}
        rows = [r for r in rows if r["sampler"] != label] + [row]
        with open(log, "w") as f:
            json.dump(rows, f, indent=2)
        print(json.dumps(row), flush=True)
    lines = ["| sampler | network calls | FID | s per 1,000 samples |", "|---|---|---|---|"]
    lines += [f"| {r['sampler']} | {r['network_calls']} | {r['fid']:.2f} | {r['seconds_per_1000']:.0f} |" for r in rows]
    with open(os.path.join(args.out, "samplers.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    images.save_image_grid(os.path.join(args.out, "samplers.png"), np.concatenate(list(grids.values())), num_cols=16,
                           upscale=images.grid_upscale(spec.shape[0]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
