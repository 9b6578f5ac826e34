"""The in-repo feature network of the sample metrics: a classifier run of the family table."""

import jax

from jaxgen.eval.features import FeatureNet, weights_digest
from jaxgen.families.classifier import build_model
from jaxgen.run import workdirs
from jaxgen.train.checkpoint import load_latest


def load_classifier(workdir: str) -> FeatureNet:
    """The classifier trained in `workdir` (by experiments/configs/classifier.py): its config,
    data spec and latest checkpoint. The features are the model's second output (its
    penultimate layer), the logits its first."""
    config = workdirs.load_config(workdir, what="feature net")
    if config.family != "classifier":
        raise ValueError(f"feature net {workdir!r}: config.family={config.family!r}, expected 'classifier'")
    spec = workdirs.load_spec(workdir)
    params = load_latest(workdir)[0]["params"]
    model = build_model(config, spec)
    shape = tuple(spec.shape) if config.data.name != "" and not config.data.name.startswith("tfds:") else None
    return FeatureNet(f"classifier:{config.data.name}", weights_digest(params), shape,
                      jax.jit(lambda x: model.apply(params, x)))
