"""jaxgen: likelihood-based and adversarial generative models in JAX."""

__version__ = "0.1.0"
