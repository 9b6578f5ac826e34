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


def load_config_file(spec: str):
    """get_config(variant) of 'path/to/config.py[:variant]' (as ml_collections' config flag does)."""
    import importlib.util
    import os

    path, _, variant = spec.partition(":")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no config file {path!r}")
    module_spec = importlib.util.spec_from_file_location("jaxgen_config", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(variant) if variant else module.get_config()


def describe_flag_error(argv: list[str], err: Exception, flag: str = "config") -> str:
    """One line naming what is wrong with the --config file, its variant or an override."""
    spec = None
    for i, a in enumerate(argv):
        if a.startswith(f"--{flag}="):
            spec = a.split("=", 1)[1]
        elif a == f"--{flag}" and i + 1 < len(argv):
            spec = argv[i + 1]
    if spec is None:
        return str(err).strip().splitlines()[0]
    try:
        config = load_config_file(spec)
    except (FileNotFoundError, ValueError) as load_err:
        return f"--{flag}={spec}: {load_err}"
    for arg in argv:
        if not arg.startswith(f"--{flag}."):
            continue
        path = arg[len(f"--{flag}."):].partition("=")[0]
        node, walked = config, []
        for part in path.split("."):
            if not isinstance(node, ml_collections.ConfigDict) or part not in node:
                where = ".".join([flag, *walked])
                known = sorted(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
                return (f"--{flag}.{path}: {where} has no key {part!r} (it has {', '.join(known)}); a key the run "
                        "never reads is not accepted")
            node, walked = node[part], walked + [part]
    return " ".join(str(err).split())


def parse_flags_or_exit(argv: list[str]) -> list[str]:
    """absl flags parser of the commands: a bad config file, variant, key or value ends the
    command with one line naming it, before anything runs (no traceback)."""
    import sys

    from absl import flags

    try:
        args = flags.FLAGS(argv)
        if "config" in flags.FLAGS and flags.FLAGS["config"].value is not None:
            flags.FLAGS["config"].value.keys()  # a config file that failed to load raises here, not at parse
        return args
    except Exception as err:  # noqa: BLE001 - flag parsing only; nothing has run yet
        sys.exit(f"error: {describe_flag_error(argv, err)}")
