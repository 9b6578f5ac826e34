"""The run shell, the top layer of jaxgen: launch, evaluate, sweep and the benchmark scripts
go through it; nothing below it imports it (the contracts in setup.cfg)."""

from jaxgen.data.errors import DataError
from jaxgen.run.checks import ConfigError, check
from jaxgen.run.shell import train_and_evaluate

# What a user can get wrong (a config value, a data file, a path): commands report these in one line.
USER_ERRORS = (ConfigError, DataError, FileNotFoundError)

__all__ = ["USER_ERRORS", "ConfigError", "DataError", "check", "train_and_evaluate"]
