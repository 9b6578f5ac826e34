"""Evaluate a trained run, or real data (the floor every model is measured against).

  python -m experiments.evaluate --workdir runs/dcgan_mnist --feature_net runs/features_mnist
  python -m experiments.evaluate --real mnist --feature_net runs/features_mnist --out runs/floor_mnist

Loads the run's config.json and latest checkpoint, draws samples, computes the
metrics (default: all that apply), and writes OUT/metrics.json, OUT/report.md,
OUT/report.html and figures (OUT defaults to WORKDIR/eval). Options are the
fields of jaxgen.eval.options.default_options().
"""

import argparse
import sys

from jaxgen.eval import suite
from jaxgen.eval.options import NEEDS_FEATURES, default_options
from jaxgen.run import compile_cache
from jaxgen.run.evaluate import default_metrics, evaluate

IMAGE_METRICS = NEEDS_FEATURES  # every metric of images and a feature net


def main(argv=None) -> None:
    defaults = default_options()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--workdir", help="a run directory (config.json + checkpoints)")
    src.add_argument("--real", metavar="DATA", help="evaluate real test images of DATA against its training set")
    p.add_argument("--out", help="output directory (default WORKDIR/eval)")
    p.add_argument("--metrics", default="", help=f"comma-separated subset of {suite.METRICS}; default: every one "
                   "that applies (the test log-likelihood where the family reports one, the image metrics with a "
                   "--feature_net, mode coverage on ring8 / grid25)")
    p.add_argument("--no_progress", action="store_true")
    p.add_argument("--compilation_cache", help=compile_cache.HELP)
    p.add_argument("--save_arrays", action="store_true",
                   help="also write OUT/arrays.npz: samples, their features and logits, the reference features")
    flagged = [name for name in defaults if name not in ("metrics", "every_steps")]
    for name in flagged:
        p.add_argument(f"--{name}", type=type(defaults[name]), default=defaults[name])
    args = p.parse_args(argv)
    compile_cache.enable(args.compilation_cache)
    options = defaults
    for name in flagged:
        options[name] = getattr(args, name)
    if args.metrics:
        options.metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    else:
        try:
            options.metrics = default_metrics(args.workdir, bool(options.feature_net))
        except (ValueError, FileNotFoundError) as err:
            sys.exit(f"error: {err}")
    out = args.out or (f"{args.workdir}/eval" if args.workdir else None)
    if out is None:
        p.error("--out is required with --real")
    try:
        result = evaluate(options, out, workdir=args.workdir, real_data=args.real, progress=not args.no_progress,
                          save_arrays=args.save_arrays)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    for k, v in result["metrics"].items():
        print(f"{k:32s} {v:.6g}" if isinstance(v, float) else f"{k:32s} {v}")
    print(f"Report: {result['report']['markdown']} / {result['report']['html']}")


if __name__ == "__main__":
    main()
