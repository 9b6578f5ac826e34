"""Hidden Markov model configs (fit family `hmm`: Baum-Welch in one call, jaxgen/train/one_call.py).

An image is read top to bottom as a sequence of rows (a row of pixels per time step), the
classic way to turn digits into sequences; samples are generated row by row and stacked.

Variants (`hmm.py:NAME`):
  digits   8x8 digits as 8 steps of 8-D rows: 20 states, 3-component diagonal-Gaussian
           mixture emissions.
  mnist    MNIST as 28 steps of 28-D rows: 40 states, 2-component mixtures.
  smoke    a tiny fit, for tests.

Run:
  python -m experiments.launch --config experiments/configs/hmm.py:digits --workdir runs/hmm_digits
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_fit_base_config()
    c.family = "hmm"
    c.model = ml_collections.ConfigDict({
        "num_states": 20,
        "num_mix": 3,  # Gaussians per state's emission (1: Gaussian emissions)
        "covariance_type": "diag",
        "max_iter": 100,
        "tol": 1e-2,  # stop when the total log-likelihood gains less
        "reg_covar": 1e-3,
    })
    c.eval.num_samples = 100
    if arg == "digits":
        c.data.name = "digits"
    elif arg == "mnist":
        c.data.name = "mnist"
        c.model.num_states = 40
        c.model.num_mix = 2
        c.model.max_iter = 50
    elif arg == "smoke":
        c.data.name = "digits"
        c.model.num_states = 3
        c.model.num_mix = 2
        c.model.max_iter = 3
        c.eval.num_samples = 16
        c.train.progress = False
    else:
        raise ValueError(f"unknown hmm config variant {arg!r}; expected digits, mnist, smoke")
    return lock(c)


VARIANTS = ("digits", "mnist", "smoke")
