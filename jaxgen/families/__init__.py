"""The family table: name -> what the run shell (jaxgen/run/) needs to run and evaluate it.

Every family is listed here explicitly (no import-time registries), with the engine that
trains it:
- "stepped" (jaxgen/train/stepped.py): `build(config, spec)` returns a `Family` (base.py): how
  to initialise params, the step kind that updates them, evaluation functions and a sampler.
- "one_call" (jaxgen/train/one_call.py): `fit(config, FitData, key, report)` returns a
  `FitResult` (closed forms and EM).
`validate(config, data shape, errors)` appends a message per impossible value before anything
compiles or writes.
"""

from jaxgen.families import boltzmann_fits as b
from jaxgen.families import density_fits as d
from jaxgen.families.aae import build_aae, validate_aae
from jaxgen.families.base import Family, FamilyEntry
from jaxgen.families.bernoulli_mixture import fit_bernoulli_mixture_config, validate_bernoulli_mixture
from jaxgen.families.classifier import build_classifier, validate_classifier
from jaxgen.families.gan import build_gan, validate_gan
from jaxgen.families.pix2pix import build_pix2pix, validate_pix2pix
from jaxgen.families.rbm import build_rbm, validate_rbm
from jaxgen.families.vae import build_vae, validate_vae

FAMILIES: dict[str, FamilyEntry] = {
    "vae": FamilyEntry(validate_vae, build=build_vae),
    "gan": FamilyEntry(validate_gan, build=build_gan),  # also DCGAN and conditional GANs (configs dcgan.py, cgan.py)
    "aae": FamilyEntry(validate_aae, build=build_aae),
    "pix2pix": FamilyEntry(validate_pix2pix, build=build_pix2pix),
    "classifier": FamilyEntry(validate_classifier, build=build_classifier),  # feature nets of the metrics
    "rbm": FamilyEntry(validate_rbm, build=build_rbm),  # contrastive divergence; AIS log-likelihood
    "gmm": FamilyEntry(d.validate_gmm, fit=d.fit_gmm_config),
    "bernoulli_mixture": FamilyEntry(validate_bernoulli_mixture, fit=fit_bernoulli_mixture_config),
    "kde": FamilyEntry(d.validate_kde, fit=d.fit_kde_config),
    "ppca": FamilyEntry(d.validate_ppca, fit=d.fit_ppca_config),
    "hmm": FamilyEntry(d.validate_hmm, fit=d.fit_hmm_config),
    "bayes_classifier": FamilyEntry(d.validate_bayes, fit=d.fit_bayes_config),
    "dbn": FamilyEntry(b.validate_dbn, fit=b.fit_dbn_config),
    "dbm": FamilyEntry(b.validate_dbm, fit=b.fit_dbm_config),
}

__all__ = ["FAMILIES", "Family", "FamilyEntry"]
