"""Feature classifiers: the networks whose penultimate features the sample-quality
metrics use (FID, KID, precision/recall, ...; jaxgen/eval/features.py).

Variants (`classifier.py:NAME`): mnist, fashion_mnist, digits, smoke.

Run (then pass the workdir to `experiments.evaluate --feature_net`):
  python -m experiments.launch --config experiments/configs/classifier.py:mnist --workdir runs/features_mnist
"""

import ml_collections

from experiments.configs.base import get_base_config, lock, shrink_for_smoke

DATASETS = ("mnist", "fashion_mnist", "digits")
# Updates of batch 128: ~3 epochs of MNIST, 5 of Fashion-MNIST, ~100 of the 1,500 digits.
STEPS = {"mnist": 1_400, "fashion_mnist": 2_400, "digits": 1_200}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "mnist"
    c = get_base_config()
    c.family = "classifier"
    c.model = ml_collections.ConfigDict({"channels": (32, 64), "feature_dim": 128, "stem": 2})
    c.optim.lr = 2e-3
    c.optim.schedule = "cosine"
    c.data.eval_batch_size = 500
    c.eval.every_steps = 0
    c.train.log_every = 100
    if arg == "smoke":
        shrink_for_smoke(c, "digits", 32)
        c.model.channels = (8, 16)
        c.model.stem = 1
        c.model.feature_dim = 16
        return lock(c)
    if arg not in DATASETS:
        raise ValueError(f"unknown classifier config variant {arg!r}; expected one of {DATASETS} or 'smoke'")
    c.data.name = arg
    c.data.batch_size = 128
    c.train.num_steps = STEPS[arg]
    if arg == "digits":
        c.data.eval_batch_size = 297
        c.model.stem = 1  # 8x8 images: keep every pixel position
    c.checkpoint.every_steps = 0
    return lock(c)


VARIANTS = DATASETS + ("smoke",)
