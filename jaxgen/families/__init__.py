"""The family table: name -> what the run shell (jaxgen/run/) needs to run and evaluate it.

Every family is listed here explicitly (no import-time registries), with the engine that
trains it:
- "stepped" (jaxgen/train/stepped.py): `build(config, spec)` returns a `Family` (base.py): how
  to initialise params, the step kind that updates them, evaluation functions and a sampler.
- "one_call" (jaxgen/train/one_call.py): `build(config, spec)` returns a `OneCallFamily`: a
  fit (closed forms and EM) and, like a Family, its sampler and test log-likelihood.
`validate(config, data shape, errors)` appends a message per impossible value before anything
compiles or writes.
"""

from jaxgen.families import densities
from jaxgen.families import density_fits as d
from jaxgen.families.aae import build_aae, validate_aae
from jaxgen.families.autoencoder import build_autoencoder, validate_autoencoder
from jaxgen.families.autoregressive import build_autoregressive, validate_autoregressive
from jaxgen.families.base import Family, FamilyEntry, OneCallFamily
from jaxgen.families.bernoulli_mixture import build_bernoulli_mixture, validate_bernoulli_mixture
from jaxgen.families.classifier import build_classifier, validate_classifier
from jaxgen.families.dbm import build_dbm, validate_dbm
from jaxgen.families.dbn import build_dbn, validate_dbn
from jaxgen.families.diffusion import build_diffusion, validate_diffusion
from jaxgen.families.dynamical import build_dynamical, validate_dynamical
from jaxgen.families.flow import build_flow, validate_flow
from jaxgen.families.gan import build_gan, validate_gan
from jaxgen.families.hvae import build_hvae, validate_hvae
from jaxgen.families.language import build_language_model, validate_language_model
from jaxgen.families.masked_lm import build_masked_lm, validate_masked_lm
from jaxgen.families.pix2pix import build_pix2pix, validate_pix2pix
from jaxgen.families.rbm import build_rbm, validate_rbm
from jaxgen.families.seq2seq import build_seq2seq, validate_seq2seq
from jaxgen.families.vae import build_vae, validate_vae

FAMILIES: dict[str, FamilyEntry] = {
    "vae": FamilyEntry("stepped", build_vae, validate_vae),
    "autoencoder": FamilyEntry("stepped", build_autoencoder, validate_autoencoder),  # AE and DAE (ae.py, dae.py)
    "hvae": FamilyEntry("stepped", build_hvae, validate_hvae),  # Ladder VAE: top-down inference
    "gan": FamilyEntry("stepped", build_gan, validate_gan),  # also DCGAN and conditional GANs (dcgan.py, cgan.py)
    "aae": FamilyEntry("stepped", build_aae, validate_aae),
    "pix2pix": FamilyEntry("stepped", build_pix2pix, validate_pix2pix),
    # PixelCNN, Gated PixelCNN, PixelRNN (model.network; pixelcnn.py, pixelrnn.py)
    "autoregressive": FamilyEntry("stepped", build_autoregressive, validate_autoregressive),
    # RealNVP, Glow, MAF (model.architecture; realnvp.py, glow.py, maf.py)
    "flow": FamilyEntry("stepped", build_flow, validate_flow),
    # DDPM / DDIM / Heun sampling, classifier-free guidance (ddpm.py)
    "diffusion": FamilyEntry("stepped", build_diffusion, validate_diffusion),
    # decoder-only transformer, LSTM, GRU over text (transformer_lm.py, lstm_lm.py)
    "language_model": FamilyEntry("stepped", build_language_model, validate_language_model),
    "seq2seq": FamilyEntry("stepped", build_seq2seq, validate_seq2seq),  # encoder-decoder, restoration (seq2seq.py)
    "masked_lm": FamilyEntry("stepped", build_masked_lm, validate_masked_lm),  # BERT objective, PLL (masked_lm.py)
    # RNN baseline, VRNN, Kalman VAE over videos (vrnn.py, kvae.py)
    "dynamical_vae": FamilyEntry("stepped", build_dynamical, validate_dynamical),
    "classifier": FamilyEntry("stepped", build_classifier, validate_classifier),  # feature nets of the metrics
    "rbm": FamilyEntry("stepped", build_rbm, validate_rbm),  # contrastive divergence; AIS log-likelihood
    "dbn": FamilyEntry("stepped", build_dbn, validate_dbn),  # greedy layer-wise CD, a phase per layer
    "dbm": FamilyEntry("stepped", build_dbm, validate_dbm),  # pretraining phases, then PCD
    "gmm": FamilyEntry("one_call", densities.build_gmm, d.validate_gmm),
    "bernoulli_mixture": FamilyEntry("one_call", build_bernoulli_mixture, validate_bernoulli_mixture),
    "kde": FamilyEntry("one_call", densities.build_kde, d.validate_kde),
    "ppca": FamilyEntry("one_call", densities.build_ppca, d.validate_ppca),
    "hmm": FamilyEntry("one_call", densities.build_hmm, d.validate_hmm),
    "bayes_classifier": FamilyEntry("one_call", densities.build_bayes, d.validate_bayes),
}

__all__ = ["FAMILIES", "Family", "FamilyEntry", "OneCallFamily"]
