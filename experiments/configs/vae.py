"""Variational autoencoder configs.

Variants (`vae.py:NAME`):
  digits  scikit-learn's embedded 8x8 digits, discretised-logistic decoder (no network; the default).
  mnist   dynamically binarised MNIST, Bernoulli decoder, MLP 784-512-512-50 (the benchmark run).
  mnist_conv  the same with a convolutional encoder / sub-pixel decoder.
  fashion_mnist  Fashion-MNIST grey levels, discretised-logistic decoder, conv.
  mnist_beta4 / mnist_iwae / mnist_cvae / mnist_2d  the `mnist` run as a beta-VAE (beta = 4),
                 trained on the IWAE bound (k = 5), class-conditional, with a 2-D latent space.
  digits_binary  the digits binarised (training dynamically, the test split the protocol's fixed
                 binarisation), Bernoulli decoder: the binarised digits leaderboard.
  smoke   a few steps of a tiny model on digits, for tests (smoke_cvae_iwae: conditional, 2-D
          latent, IWAE objective).

Run:
  python -m experiments.launch --config experiments/configs/vae.py:mnist --workdir runs/vae --config.optim.lr=3e-4
"""

import ml_collections

from experiments.configs.base import digits, get_base_config, lock, shrink_for_smoke


def _model(c, **overrides) -> None:
    c.model = ml_collections.ConfigDict(
        {
            "latent_dim": 50,
            "architecture": "mlp",
            "hidden": (512, 512),
            "channels": (32, 64),
            "activation": "relu",
            "likelihood": "bernoulli",
            "beta": 1.0,  # KL weight of the ELBO objective (beta-VAE when != 1)
            "iwae_samples": 1,  # 1: the ELBO objective; k > 1: the IWAE bound L_k as the objective
            "conditional": False,  # labels into encoder and decoder (conditional VAE)
        }
    )
    c.model.update(overrides)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_base_config()
    c.family = "vae"
    _model(c)
    c.eval.iwae_samples = 10  # k of the periodic IWAE bound (the test log-likelihood's estimator)
    c.eval.final_iwae_samples = 100  # k of the final IWAE bound
    c.eval.iwae_chunk = 50  # importance samples per pass (memory)
    if arg == "digits":
        digits(c, 3_000, binarize=False)
        _model(c, latent_dim=8, hidden=(256, 256), likelihood="discretized_logistic")
        c.train.log_every = 100
        c.eval.final_iwae_samples = 1000
        c.eval.iwae_chunk = 100
    elif arg == "digits_binary":
        digits(c, 3_000, binarize=True)
        _model(c, latent_dim=8, hidden=(256, 256))
        c.eval.final_iwae_samples = 1000
        c.eval.iwae_chunk = 100
    elif arg in ("mnist", "mnist_conv", *MNIST_VARIANTS):
        c.data.name = "mnist"
        c.data.binarize = True
        c.data.batch_size = 128
        c.data.eval_batch_size = 500
        _model(c, architecture="conv" if arg == "mnist_conv" else "mlp", latent_dim=32 if arg == "mnist_conv" else 50)
        _model(c, **MNIST_VARIANTS.get(arg, {}))
        c.train.num_steps = 60_000
        c.train.log_every = 200
        c.optim.lr = 1e-3
        c.optim.schedule = "cosine"
        c.eval.every_steps = 10_000
        c.eval.num_examples = 0  # the protocol's whole test split (10,000 images)
        c.eval.final_iwae_samples = 1000
        c.eval.iwae_chunk = 100
        c.checkpoint.every_steps = 5_000
    elif arg == "fashion_mnist":
        c.data.name = "fashion_mnist"
        _model(c, architecture="conv", latent_dim=32, likelihood="discretized_logistic")
        c.train.num_steps = 30_000
        c.optim.schedule = "cosine"
        c.eval.every_steps = 5_000
        c.eval.num_examples = 2_000
        c.checkpoint.every_steps = 5_000
    elif arg in ("smoke", "smoke_cvae_iwae"):
        shrink_for_smoke(c, "digits", 32)
        _model(c, latent_dim=4 if arg == "smoke" else 2, hidden=(32,), channels=(8,), likelihood="discretized_logistic",
               conditional=arg != "smoke", iwae_samples=1 if arg == "smoke" else 3)
        c.eval.iwae_samples = 4
        c.eval.final_iwae_samples = 8
        c.eval.iwae_chunk = 4
    else:
        raise ValueError(f"unknown vae config variant {arg!r}; expected {VARIANTS}")
    return lock(c)


# Members of the VAE family on binarised MNIST, each the `mnist` run with these model changes.
MNIST_VARIANTS = {
    "mnist_beta4": {"beta": 4.0},  # beta-VAE (Higgins et al. 2017)
    "mnist_iwae": {"iwae_samples": 5},  # trained on L_5 (Burda et al. 2016)
    "mnist_cvae": {"conditional": True},  # class-conditional sampling (Sohn et al. 2015)
    "mnist_2d": {"latent_dim": 2},  # the latent manifold and the codes scatter
}
VARIANTS = ("digits", "digits_binary", "mnist", "mnist_conv", "fashion_mnist", "smoke", "smoke_cvae_iwae",
            *MNIST_VARIANTS)
