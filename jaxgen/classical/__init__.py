"""Classical density models, fitted by closed forms or EM.

One functional API: `fit_*(...)` returns params (a pytree, jit- and vmap-able), and any
params answer `log_prob(params, x)`, `sample(params, key, n)` and, where meaningful,
`predict(params, x)` / `posterior(params, x)` (the functions below call the params'
methods of the same names).

  parametric.py     Gaussian (full / diagonal), categorical, Bernoulli: closed-form MLE
  nonparametric.py  histogram, kernel density estimation (4 kernels; Scott, Silverman or
                    held-out bandwidth), k-NN density
  gmm.py            Gaussian mixtures by EM (full, diag, spherical, tied), k-means++, BIC/AIC
  hmm.py, hmm_fit.py  hidden Markov models: forward-backward, Viterbi, sampling, Baum-Welch
  ppca.py           probabilistic PCA, closed form and EM
  bayes.py          generative classifiers (naive Bayes, LDA, QDA, GMM per class) and the
                    discriminative logistic regression they are compared with
  boltzmann.py      Boltzmann machines (fully visible or with hidden units), exact by enumeration
  dbm.py            two-layer deep Boltzmann machines: mean-field posterior, PCD, exact log Z
                    for small middle layers
  dbn.py            deep belief networks: greedy RBM stacks, top-level Gibbs + down pass,
                    the two-layer variational bound
  rbm.py            RBMs (Bernoulli / Gaussian visible units): CD-k, PCD, free energy, exact and
                    AIS log Z
"""

from jaxgen.classical.bayes import BayesClassifier, fit_bayes_classifier, fit_logistic_regression
from jaxgen.classical.boltzmann import BoltzmannMachine, fit_boltzmann
from jaxgen.classical.dbm import DBM, fit_dbm
from jaxgen.classical.dbn import DBN, fit_dbn
from jaxgen.classical.gmm import GMM, aic, bic, fit_gmm
from jaxgen.classical.hmm import HMM, delay_embed
from jaxgen.classical.hmm_fit import fit_hmm
from jaxgen.classical.nonparametric import KDE, Histogram, KNNDensity, fit_histogram, fit_kde, fit_knn_density
from jaxgen.classical.parametric import Bernoulli, Categorical, Gaussian, fit_bernoulli, fit_categorical, fit_gaussian
from jaxgen.classical.ppca import PPCA, fit_ppca, fit_ppca_em
from jaxgen.classical.rbm import RBM, ais_log_partition, exact_log_partition, fit_rbm


def log_prob(params, x, *args):
    return params.log_prob(x, *args)


def sample(params, key, n, *args):
    return params.sample(key, n, *args)


def predict(params, x, *args):
    return params.predict(x, *args)


def posterior(params, x, *args):
    return params.posterior(x, *args)


__all__ = [
    "DBM",
    "DBN",
    "GMM",
    "HMM",
    "KDE",
    "PPCA",
    "RBM",
    "BayesClassifier",
    "Bernoulli",
    "BoltzmannMachine",
    "Categorical",
    "Gaussian",
    "Histogram",
    "KNNDensity",
    "aic",
    "ais_log_partition",
    "bic",
    "delay_embed",
    "exact_log_partition",
    "fit_bayes_classifier",
    "fit_bernoulli",
    "fit_boltzmann",
    "fit_categorical",
    "fit_dbm",
    "fit_dbn",
    "fit_gaussian",
    "fit_gmm",
    "fit_histogram",
    "fit_hmm",
    "fit_kde",
    "fit_knn_density",
    "fit_logistic_regression",
    "fit_ppca",
    "fit_ppca_em",
    "fit_rbm",
    "log_prob",
    "posterior",
    "predict",
    "sample",
]
