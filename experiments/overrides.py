"""Apply `key.path=value` overrides to a locked ConfigDict, with its type checks."""

import ast
import copy
from typing import Any

import ml_collections


def parse_value(text: str) -> Any:
    """'3e-4' -> 3e-4, '(1, 2)' -> (1, 2), 'True' -> True, 'mnist' -> 'mnist'."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def apply(config: ml_collections.ConfigDict, overrides: dict[str, Any]) -> ml_collections.ConfigDict:
    """A copy of `config` with `overrides` ({'optim.lr': 3e-4}) set.

    Raises KeyError for a key the config does not have and TypeError for a
    value of the wrong type, each naming the key.
    """
    # A deep copy (ConfigDict(config) would share the nested sections between
    # copies, so a sweep's runs would overwrite each other); keeps lock and types.
    config = copy.deepcopy(config)
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
                raise KeyError(f"config.{path}: no such key")
            node = node[part]
        if leaf not in node:
            raise KeyError(f"config.{path}: no such key")
        if isinstance(value, list):
            value = tuple(value)
        try:
            setattr(node, leaf, value)
        except TypeError as err:
            raise TypeError(f"config.{path}={value!r}: {err}") from err
    return config
