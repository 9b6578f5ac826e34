"""The run shell, the top layer of jaxgen: launch, evaluate, sweep and the benchmark scripts
go through it; nothing below it imports it (the contracts in setup.cfg)."""

from jaxgen.run.checks import ConfigError, check
from jaxgen.run.shell import train_and_evaluate

__all__ = ["ConfigError", "check", "train_and_evaluate"]
