"""The fit table: classical models that the launcher fits in one call instead of stepping.

EM, Baum-Welch, a closed-form MLE or a greedy stack of RBMs is not a stream of minibatch
gradient steps, so these families run in `jaxgen.train.fit.fit_and_evaluate`, the documented
sibling of the training loop: same configs, launcher, data, Orbax checkpoint of the params,
metrics.jsonl / TensorBoard, sample PNGs and final_metrics.json. (The RBM, whose CD update is a
gradient step, is a loop family: jaxgen/families/rbm.py.)

A fitter takes (config, FitData, key, report) and returns a FitResult; `report(step, metrics)`
logs progress rows (EM iterations, epochs) as they come. Every entry is listed here explicitly.
"""

from jaxgen.families import boltzmann_fits as b
from jaxgen.families import density_fits as d
from jaxgen.families.fit_base import FitData, FitEntry, FitResult

FITS: dict[str, FitEntry] = {
    "gmm": FitEntry(d.fit_gmm_config, d.validate_gmm),
    "kde": FitEntry(d.fit_kde_config, d.validate_kde),
    "ppca": FitEntry(d.fit_ppca_config, d.validate_ppca),
    "hmm": FitEntry(d.fit_hmm_config, d.validate_hmm),
    "bayes_classifier": FitEntry(d.fit_bayes_config, d.validate_bayes),
    "dbn": FitEntry(b.fit_dbn_config, b.validate_dbn),
    "dbm": FitEntry(b.fit_dbm_config, b.validate_dbm),
}

__all__ = ["FITS", "FitData", "FitEntry", "FitResult"]
