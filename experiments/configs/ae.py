"""Autoencoder configs (a deterministic code, no likelihood); denoising variants in dae.py.

Variants (`ae.py:NAME`):
  mnist       MLP 784-512-256-32 on dynamically binarised MNIST, Bernoulli reconstruction loss.
  mnist_conv  the same with the convolutional encoder / sub-pixel decoder of the VAE.
  digits      the binarised 8x8 digits.
  smoke       a few steps of a tiny model on digits, for tests.

After training, figures/code_densities.png decodes random codes N(0, I), samples of a Gaussian and
of a GMM fitted to the training codes (rows in that order); experiments/ae_codes.py scores them.

Run:
  python -m experiments.launch --config experiments/configs/ae.py:mnist --workdir runs/ae
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, shrink_for_smoke


def model_section(**overrides) -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict(
        {
            "code_dim": 32,
            "architecture": "mlp",
            "hidden": (512, 256),
            "channels": (32, 64),
            "activation": "relu",
            "likelihood": "bernoulli",
            "corruption": "none",  # 'none', 'gaussian', 'masking', 'salt_and_pepper' (denoising)
            "corruption_level": 0.0,  # sigma (gaussian) or the probability a value is corrupted
            "gmm_components": 10,  # the GMM fitted to the training codes after training
            "density_fit_examples": 20_000,  # training codes the Gaussian and the GMM are fitted to
        }
    )
    m.update(overrides)
    return m


def base(arg: str, family_module: str, variants: tuple, **model) -> ml_collections.ConfigDict:
    """The autoencoder config for a dataset variant (shared by ae.py and dae.py)."""
    c = get_base_config()
    c.family = "autoencoder"
    c.model = model_section(**model)
    if arg.startswith("mnist"):
        c.data.name = "mnist"
        c.data.binarize = True
        c.data.batch_size = 128
        c.train.num_steps = 20_000
        c.train.log_every = 200
        c.optim.schedule = "cosine"
        c.eval.every_steps = 5_000
        c.eval.num_examples = 0
        c.checkpoint.every_steps = 5_000
        if "conv" in arg:
            c.model.architecture = "conv"
    elif arg.startswith("digits"):
        digits(c, 3_000, binarize=True)
        c.model.update(code_dim=8, hidden=(256, 128), density_fit_examples=1500)
    elif arg == "smoke":
        shrink_for_smoke(c, "digits", 32)
        c.data.binarize = True
        c.model.update(code_dim=4, hidden=(16,), gmm_components=3, density_fit_examples=200)
    else:
        raise ValueError(f"unknown {family_module} config variant {arg!r}; expected {variants}")
    return c


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    return lock(base(arg or "mnist", "ae", VARIANTS))


VARIANTS = ("mnist", "mnist_conv", "digits", "smoke")
