"""The classifier family: the feature networks of the evaluation metrics,
trained by the one loop like every model (configs/classifier.py)."""

from jaxgen.data.pipeline import DataSpec
from jaxgen.families.base import Family
from jaxgen.models import classifier
from jaxgen.train.optim import make_optimizer
from jaxgen.train.steps import GradientStep


def build_model(config, spec: DataSpec) -> classifier.Classifier:
    m = config.model
    return classifier.Classifier(spec.num_classes, tuple(m.channels), m.feature_dim, m.get("stem", 1))


def build_classifier(config, spec: DataSpec) -> Family:
    model = build_model(config, spec)
    step = GradientStep(classifier.make_loss_fn(model), make_optimizer(config.optim, config.train.num_steps),
                        config.train.ema_decay)

    def summarize(avg):
        return {"test_accuracy": avg["accuracy"], "test_nll": avg["nll"]}

    return Family(
        init_params=lambda key, batch: model.init(key, batch["x"]),
        step=step,
        diagnostics=classifier.make_eval_fn(model),
        summarize=summarize,
    )


def validate_classifier(config, shape: tuple[int, ...] | None, errors: list[str]) -> None:
    m = config.model
    if shape is not None and len(shape) != 3:
        errors.append(f"config.data.name={config.data.name!r}: the classifier needs image data [H, W, C], got {shape}")
    if not m.channels or any(int(c) <= 0 for c in m.channels):
        errors.append(f"config.model.channels={tuple(m.channels)}: expected positive widths")
    stem = m.get("stem", 1)
    if stem < 1 or (shape is not None and len(shape) == 3 and (shape[0] % stem or shape[1] % stem)):
        errors.append(f"config.model.stem={stem}: must be >= 1 and divide the image size {shape}")
    if m.feature_dim <= 0:
        errors.append(f"config.model.feature_dim={m.feature_dim}: must be positive")
