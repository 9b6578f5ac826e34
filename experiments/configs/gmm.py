"""Gaussian mixture configs (fit family `gmm`: EM in one call, jaxgen/train/one_call.py).

Variants (`gmm.py:NAME`):
  grid25   25 full-covariance components on the grid-of-25 toy data; K chosen by BIC from
           (10, 25, 40).
  digits   8x8 digits (pixels in [0, 1]): diagonal covariances, K in (5, 10, 20, 40) by BIC.
  mnist    MNIST pixels: 50 diagonal components.
  smoke    a tiny fit on ring-of-8 data, for tests.

Run:
  python -m experiments.launch --config experiments/configs/gmm.py:grid25 --workdir runs/gmm_grid25
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "grid25"
    c = get_fit_base_config()
    c.family = "gmm"
    c.model = ml_collections.ConfigDict({
        "num_components": (25,),  # several: one fit each, the lowest BIC is kept (gmm_select_k.md)
        "covariance_type": "full",  # full, diag, spherical or tied
        "n_init": 4,  # restarts (k-means++ seeds), vmapped; the best final log-likelihood wins
        "max_iter": 200,
        "tol": 1e-4,  # stop when the mean log-likelihood gains less
        "reg_covar": 1e-6,  # added to every covariance's diagonal
    })
    c.eval.num_samples = 2_000
    if arg == "grid25":
        c.data.name = "grid25"
        c.data.toy_train_size = 10_000
        c.data.toy_test_size = 2_500
        c.model.num_components = (10, 25, 40)
    elif arg == "digits":
        c.data.name = "digits"
        c.model.num_components = (5, 10, 20, 40)
        c.model.covariance_type = "diag"
        c.model.reg_covar = 1e-3
        c.eval.num_samples = 100
    elif arg == "mnist":
        c.data.name = "mnist"
        c.model.num_components = (50,)
        c.model.covariance_type = "diag"
        # the default floor 1e-6: uniform dequantisation already keeps every pixel's variance
        # above 1 / (12 * 256^2) = 1.3e-6; a floor of 1e-3 (std 0.03, for raw levels with
        # constant background pixels) cost ~1,070 nats on the test set (BENCHMARKS.md)
        c.model.n_init = 1
        c.eval.num_samples = 100
    elif arg == "smoke":
        c.data.name = "ring8"
        c.data.toy_train_size = 500
        c.data.toy_test_size = 100
        c.model.num_components = (4, 8)
        c.model.n_init = 2
        c.model.max_iter = 20
        c.eval.num_samples = 64
        c.train.progress = False
    else:
        raise ValueError(f"unknown gmm config variant {arg!r}; expected grid25, digits, mnist, smoke")
    return lock(c)


VARIANTS = ("grid25", "digits", "mnist", "smoke")
