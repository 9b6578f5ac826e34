"""Which keys of a ConfigDict the code reads, and from which module: a test tool for the
unread-key check (a key that nothing reads is a silent no-op for the user who sets it)."""

import contextlib
import sys

import ml_collections

_PLAIN_ACCESS = {"__getattr__", "__getitem__", "get"}  # element reads; anything else is a bulk op (to_dict, copy, json)


def leaves(config: ml_collections.ConfigDict, prefix: str = "") -> set[str]:
    out = set()
    for key in config:
        value = config[key]
        path = f"{prefix}{key}"
        out |= leaves(value, path + ".") if isinstance(value, ml_collections.ConfigDict) else {path}
    return out


def _paths(config, prefix=""):
    """id(node) -> dotted path prefix of every ConfigDict node."""
    out = {id(config): prefix}
    for key in config:
        value = config[key]
        if isinstance(value, ml_collections.ConfigDict):
            out.update(_paths(value, f"{prefix}{key}."))
    return out


@contextlib.contextmanager
def recording(config):
    """Yields a set that fills with (dotted key, reading module) for every element read of
    `config` (and its sections) made by code outside ml_collections while the context is open."""
    paths = _paths(config)
    reads: set[tuple[str, str]] = set()
    original = ml_collections.ConfigDict.__getitem__

    def getitem(self, key):
        prefix = paths.get(id(self))
        if prefix is not None and isinstance(key, str):
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__", "").startswith("ml_collections"):
                if frame.f_code.co_name not in _PLAIN_ACCESS:
                    frame = None  # a bulk operation of ml_collections itself, not a read by the run
                    break
                frame = frame.f_back
            if frame is not None:
                reads.add((prefix + key, frame.f_globals.get("__name__", "")))
        return original(self, key)

    ml_collections.ConfigDict.__getitem__ = getitem
    try:
        yield reads
    finally:
        ml_collections.ConfigDict.__getitem__ = original


def read_keys(reads, modules: tuple[str, ...], exclude: tuple[str, ...] = ()) -> set[str]:
    """Keys read from modules starting with any of `modules` (and none of `exclude`); a read of a
    section (e.g. 'data') counts for no leaf."""
    return {key for key, mod in reads if mod.startswith(modules) and not mod.startswith(exclude or ("\0",))}
