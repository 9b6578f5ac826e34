"""The family table: name -> builder of what the one training loop runs.

Every family is listed here explicitly (no import-time registries). A builder
takes (config, data spec) and returns a `Family` (jaxgen/families/base.py):
how to initialise params, the step kind that updates them, per-example
evaluation functions, a summary of their averages, and a sampler.
"""

from jaxgen.families.aae import build_aae, validate_aae
from jaxgen.families.base import Family, FamilyEntry
from jaxgen.families.classifier import build_classifier, validate_classifier
from jaxgen.families.gan import build_gan, validate_gan
from jaxgen.families.pix2pix import build_pix2pix, validate_pix2pix
from jaxgen.families.rbm import build_rbm, validate_rbm
from jaxgen.families.vae import build_vae, validate_vae

FAMILIES: dict[str, FamilyEntry] = {
    "vae": FamilyEntry(build_vae, validate_vae),
    "gan": FamilyEntry(build_gan, validate_gan),  # also DCGAN and conditional GANs (configs dcgan.py, cgan.py)
    "aae": FamilyEntry(build_aae, validate_aae),
    "pix2pix": FamilyEntry(build_pix2pix, validate_pix2pix),
    "classifier": FamilyEntry(build_classifier, validate_classifier),  # feature nets of the metrics (jaxgen/eval)
    "rbm": FamilyEntry(build_rbm, validate_rbm),  # contrastive divergence; AIS log-likelihood (jaxgen/classical/rbm.py)
}

__all__ = ["FAMILIES", "Family", "FamilyEntry"]
