"""Masked autoregressive flow configs (Papamakarios et al. 2017; family `flow`): MADE layers
with the order reversed between them, on 2-D toy data (exact log-density; the mixtures' true
density is known, jaxgen.data.toy.log_density).

Variants (`maf.py:NAME`): ring8, grid25, two_moons, checkerboard; ring8_mog / grid25_mog with a
learned mixture-of-Gaussians base (MAF MoG: 8 / 25 components); smoke (a few steps, for tests).

Run:
  python -m experiments.launch --config experiments/configs/maf.py:ring8 --workdir runs/maf_ring8
"""

import ml_collections

from experiments.configs.base import get_base_config, lock
from experiments.configs.realnvp import smoke, toy, vector_model
from jaxgen.data.toy import MODES

DATASETS = ("ring8", "grid25", "two_moons", "checkerboard")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "ring8"
    c = get_base_config()
    c.family = "flow"
    data = arg.removesuffix("_mog")
    if data in DATASETS and (arg == data or data in MODES):
        toy(c, data, 20_000 if data == "grid25" else 10_000)
        c.model = vector_model("maf", base_components=0 if arg == data else len(MODES[data][0]()))
    elif arg == "smoke":
        smoke(c, image=False)
        c.model = vector_model("maf", layers=2, hidden=(16,), base_components=2)
    else:
        raise ValueError(f"unknown maf config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


VARIANTS = (*DATASETS, "ring8_mog", "grid25_mog", "smoke")
