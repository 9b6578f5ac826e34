"""Where the commands' persistent compilation cache lives (jaxgen/run/compile_cache.py)."""

import os

from jaxgen.run import compile_cache


def test_flag_then_jaxgen_variable_then_jax_variable_then_user_cache(monkeypatch, tmp_path):
    for name in ("JAXGEN_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.resolve() == str(tmp_path / "xdg" / "jaxgen" / "xla")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))
    assert compile_cache.resolve() == str(tmp_path / "jax")
    monkeypatch.setenv("JAXGEN_COMPILATION_CACHE", str(tmp_path / "ours"))
    assert compile_cache.resolve() == str(tmp_path / "ours")
    assert compile_cache.resolve(str(tmp_path / "flag")) == str(tmp_path / "flag")
    assert compile_cache.resolve("off") is None
    monkeypatch.setenv("JAXGEN_COMPILATION_CACHE", "OFF")
    assert compile_cache.resolve() is None
    assert compile_cache.resolve("~/c") == os.path.join(os.path.expanduser("~"), "c")
