"""Generative classifiers vs logistic regression (fit family `bayes_classifier`, jaxgen/train/one_call.py).

Every model in model.models is fitted on the same training split: class prior plus a
class-conditional density (Gaussian / Bernoulli naive Bayes, LDA, QDA, a GMM per class) turned
into p(y | x) by Bayes' rule, and the discriminative multinomial logistic regression. Test
accuracies (and each generative model's test log p(x)) go to classifiers.md and
final_metrics.json; samples.png shows one row per class from model.sample_model.
For accuracy against training-set size see experiments/benchmarks/generative_vs_discriminative.py.

Variants (`bayes_classifier.py:NAME`): digits, mnist, smoke.

Run:
  python -m experiments.launch --config experiments/configs/bayes_classifier.py:digits --workdir runs/bayes_digits
"""

import ml_collections

from experiments.configs.base import get_fit_base_config, lock


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    arg = arg or "digits"
    c = get_fit_base_config()
    c.family = "bayes_classifier"
    c.model = ml_collections.ConfigDict({
        "models": ("gaussian_nb", "bernoulli_nb", "lda", "qda", "gmm", "logistic_regression"),
        "reg": 0.05,  # added to the covariances' diagonals (LDA, QDA, GMM)
        "num_components": 2,  # per class, for 'gmm'
        "l2": 1e-3,  # logistic regression
        "sample_model": "qda",  # class-conditional samples from this model ('' for none)
    })
    c.eval.num_samples = 100
    if arg == "digits":
        c.data.name = "digits"
    elif arg == "mnist":
        c.data.name = "mnist"
        c.model.num_components = 3
    elif arg == "smoke":
        c.data.name = "digits"
        c.model.models = ("gaussian_nb", "bernoulli_nb", "qda", "logistic_regression")
        c.eval.num_samples = 20
        c.train.progress = False
    else:
        raise ValueError(f"unknown bayes_classifier config variant {arg!r}; expected digits, mnist, smoke")
    return lock(c)


VARIANTS = ("digits", "mnist", "smoke")
