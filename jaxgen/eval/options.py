"""The `evals` options: what `experiments.evaluate` (and a stepped run, every
`every_steps` steps and after training, when config.evals.metrics is not empty)
measures. Imports nothing heavy, so configs can include the section."""

import os

import ml_collections

# name -> what it reports (computed by jaxgen.eval.suite / jaxgen.run.evaluate).
METRICS = {
    "fid": "Frechet distance of feature Gaussians (lower is better)",
    "kid": "unbiased MMD^2, cubic polynomial kernel, mean / std / s.e. over subsets",
    "inception_score": "exp E KL(p(y|x) || p(y)) of the feature classifier (higher: confident and diverse)",
    "precision_recall": "improved precision and recall, k-NN manifolds (k = 3)",
    "density_coverage": "density and coverage (k = 5)",
    "memorization": "nearest-training-neighbour distances of samples vs held-out data, pixels and features",
    "cas": "Classification Accuracy Score of a conditional model: train on generated, test on real, and the "
           "same fit on real images (the ceiling)",
    "modes": "mode coverage on toy 2-D mixtures (ring8, grid25): modes covered, high-quality fraction, KL",
    "likelihood": "the family's test likelihood metrics (e.g. IWAE bound, bits/dim), mean and s.e. over repeats",
}
# The metrics of feature arrays alone (jaxgen.eval.suite.compute), and every metric that needs a feature net.
SAMPLE_METRICS = ("fid", "kid", "inception_score", "precision_recall", "density_coverage")
NEEDS_FEATURES = (*SAMPLE_METRICS, "memorization")


def default_options() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({
        "metrics": (),  # names from METRICS; () = none after training
        "every_steps": 0,  # also during training, every N steps (0: only after training)
        "feature_net": "",  # workdir of a classifier trained by experiments/configs/classifier.py
        "num_samples": 10_000,
        "memorization_samples": 2_000,
        "likelihood_repeats": 3,
        "likelihood_examples": 0,  # test examples per repeat; 0: config.eval.num_examples of the run
        "kid_subsets": 100,
        "kid_subset_size": 1_000,
        "cas_epochs": 3,
        "batch_size": 500,
        "seed": 0,
    })


def errors(options, net_given: bool = False) -> list[str]:
    """Every problem with `options`, as messages naming the bad value (`net_given`:
    the caller passes its own FeatureNet, so options.feature_net is not needed)."""
    out = []
    unknown = [m for m in options.metrics if m not in METRICS]
    if unknown:
        out.append(f"evals.metrics={tuple(options.metrics)}: unknown metric(s) {unknown}; expected some of "
                   f"{tuple(METRICS)}")
    if any(m in NEEDS_FEATURES for m in options.metrics) and not options.feature_net and not net_given:
        out.append("evals.feature_net='': the sample metrics need a feature classifier workdir (train one with "
                   "experiments/configs/classifier.py)")
    if options.feature_net and options.metrics and not net_given and not os.path.exists(os.path.join(options.feature_net, "config.json")):
        out.append(f"evals.feature_net={options.feature_net!r}: no trained classifier there (no config.json)")
    if options.num_samples < 10:
        out.append(f"evals.num_samples={options.num_samples}: need at least 10")
    if options.likelihood_examples < 0:
        out.append(f"evals.likelihood_examples={options.likelihood_examples}: must be >= 0")
    minimum = {"every_steps": 0, "likelihood_repeats": 1, "kid_subsets": 2, "kid_subset_size": 2, "batch_size": 1, "cas_epochs": 1,
               "memorization_samples": 1, "seed": 0}
    for name, low in minimum.items():
        if options[name] < low:
            out.append(f"evals.{name}={options[name]}: must be >= {low}")
    return out
