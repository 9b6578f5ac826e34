"""No silent keys: every key of every variant of every config file is read by the run (a key
nothing reads would let `--config.KEY=...` change nothing), and a planted key is caught.

Reads are recorded with tests/run/config_reads.py. What the shell, the engines and the data
layer read comes from one recorded smoke run per engine; what a family reads from building it
(stepped: build, init under eval_shape, both likelihood estimators) or, for one-call families,
from their recorded smoke fit (tests/train/test_fit.py). The generic checks of
jaxgen/run/checks.py do not count as reads: validating a key is not using it.
"""

import glob
import importlib
import os

import jax
import jax.numpy as jnp
import pytest

from experiments import overrides
from jaxgen.data import sources
from jaxgen.data.pipeline import DataSpec
from jaxgen.families import FAMILIES
from jaxgen.run import checks, train_and_evaluate
from tests.conftest import REPO
from tests.run.config_reads import leaves, read_keys, recording

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(str(REPO / "experiments" / "configs" / "*.py"))
                 if os.path.basename(p) not in ("base.py", "__init__.py"))
CHECKS = ("jaxgen.run.checks",)


def config_of(module: str, variant: str):
    return importlib.import_module(f"experiments.configs.{module}").get_config(variant)


def _stepped(module: str) -> bool:
    return FAMILIES[config_of(module, "smoke").family].engine == "stepped"


def spec_without_data(config) -> DataSpec:
    """The data spec a family is built with, without loading the data."""
    name = config.data.name
    if name.startswith("tfds:"):
        return DataSpec((32, 32, 3), 10, 256, 1000, 1000)
    if sources.source_kind(name) in ("text", "synthetic_text"):
        vocab = config.data.vocab_size if config.data.tokenizer == "bpe" else 65
        return DataSpec((config.data.block_size + 1,), 0, None, 1000, 100, vocab, (1,) * vocab + (0,))
    shape = sources.SHAPES[name]
    if len(shape) == 1:
        return DataSpec(shape, 0, None, config.data.toy_train_size, config.data.toy_test_size)
    return DataSpec(shape, 10, 17 if name == "digits" else 256, 1000, 1000)


def stepped_family_reads(config) -> set[str]:
    """Keys a stepped family reads when checked, built, initialised and asked for its likelihoods."""
    spec = spec_without_data(config)
    with recording(config) as reads:
        checks.check(config, num_devices=1)
        family = FAMILIES[config.family].build(config, spec)
        n = 32  # as many as a mixture base initialised by EM on the batch has components (maf.py's grid25_mog: 25)
        batch = {"x": jnp.zeros((n, *spec.shape), jnp.int32 if spec.vocab_size else jnp.float32), "label": jnp.zeros(n, jnp.int32), "index": jnp.arange(n)}
        jax.eval_shape(family.init_params, jax.random.key(0), batch)
        if family.likelihood is not None:
            family.likelihood(True), family.likelihood(False)
    return read_keys(reads, ("",), exclude=CHECKS)


def selector_reads(config) -> set[str]:
    """Keys read for some value of the key that selects them: the data keys of every kind of
    source (a config's data section serves any dataset named by --config.data.name) and the
    optimizer keys of every optimizer name."""
    from jaxgen.data.sources import SOURCE_KEYS
    from jaxgen.train.optim import OPTIMIZERS, make_optimizer

    out = {f"data.{k}" for keys in SOURCE_KEYS.values() for k in keys}
    for section in [s for s in ("optim", "d_optim") if s in config]:
        for name in OPTIMIZERS:
            trial = overrides.apply(config, {f"{section}.name": name})
            with recording(trial) as reads:
                make_optimizer(trial[section], 10)
            out |= {k for k in read_keys(reads, ("jaxgen",)) if k.startswith(f"{section}.")}
    return out


def unread(config, *read_sets: set[str]) -> set[str]:
    return leaves(config) - selector_reads(config) - set().union(*read_sets)


@pytest.fixture(scope="module")
def stepped_engine_reads(tmp_path_factory) -> set[str]:
    """What the shell, the stepped engine and the data layer read in one smoke run (the VAE's,
    with a periodic evaluation and a checkpoint so those paths run too)."""
    config = overrides.apply(config_of("vae", "smoke"), {"eval.every_steps": 2})
    with recording(config) as reads:
        train_and_evaluate(config, str(tmp_path_factory.mktemp("engine")))
    return read_keys(reads, ("jaxgen.run", "jaxgen.train", "jaxgen.data"), exclude=CHECKS)


@pytest.mark.parametrize("module", [m for m in MODULES if _stepped(m)])
def test_every_key_of_every_stepped_variant_is_read(module, stepped_engine_reads):
    for variant in importlib.import_module(f"experiments.configs.{module}").VARIANTS:
        config = config_of(module, variant)
        missing = unread(config, stepped_engine_reads, stepped_family_reads(config))
        assert not missing, f"{module}.py:{variant} sets keys the run never reads: {sorted(missing)}"


def test_a_planted_key_is_caught(stepped_engine_reads):
    config = config_of("vae", "smoke")
    config.unlock()
    config.model.planted = 3
    config.optim.also_planted = 0.5
    config.lock()
    assert unread(config, stepped_engine_reads, stepped_family_reads(config)) == {"model.planted",
                                                                                  "optim.also_planted"}


def test_an_ignored_section_is_refused_on_the_command_line():
    """A GMM is fitted by EM and reads no optimizer: its config has none, so the override is
    refused with the key named instead of changing nothing."""
    message = overrides.describe_flag_error(
        ["launch", "--config=experiments/configs/gmm.py:smoke", "--config.optim.lr=0.1"], KeyError("optim"))
    assert message.startswith("--config.optim.lr: config has no key 'optim'")
