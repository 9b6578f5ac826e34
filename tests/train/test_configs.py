"""Every config variant loads, passes the checks and builds; bad values fail
early with the key named; the launcher refuses bad overrides before writing."""

import importlib
import math

import jax
import pytest

from experiments import overrides
from jaxgen.data import DataSpec, sources
from jaxgen.families import FAMILIES
from jaxgen.run import checks as config_checks
from tests.train.helpers import launch_args, run

CONFIG_MODULES = ["vae", "gan", "dcgan", "cgan", "aae", "pix2pix", "classifier", "rbm", "pixelcnn", "hvae", "ae", "dae", "pixelrnn"]


def all_variants():
    for name in CONFIG_MODULES:
        module = importlib.import_module(f"experiments.configs.{name}")
        for variant in module.VARIANTS:
            yield name, variant


@pytest.mark.parametrize("module,variant", list(all_variants()))
def test_variant_loads_checks_and_builds(module, variant):
    config = importlib.import_module(f"experiments.configs.{module}").get_config(variant)
    config_checks.check(config, num_devices=1)
    shape = sources.SHAPES.get(config.data.name, (32, 32, 3))  # 'tfds:cifar10' has no shape entry
    spec = DataSpec(shape, 10, 256, 1000, 100)
    family = FAMILIES[config.family].build(config, spec)
    batch = {"x": jax.ShapeDtypeStruct((2, *shape), "float32"), "index": jax.ShapeDtypeStruct((2,), "int32"),
             "label": jax.ShapeDtypeStruct((2,), "int32")}
    params = jax.eval_shape(family.init_params, jax.random.key(0), batch)
    assert sum(math.prod(p.shape) for p in jax.tree.leaves(params)) > 0


def _smoke():
    from experiments.configs import vae

    return vae.get_config("smoke")


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"data.batch_size": -4}, "config.data.batch_size=-4"),
        ({"data.name": "imagenet9"}, "config.data.name='imagenet9'"),
        ({"optim.lr": 0.0}, "config.optim.lr=0.0"),
        ({"optim.name": "adamax"}, "config.optim.name='adamax'"),
        ({"train.parallel": "tpu"}, "config.train.parallel='tpu'"),
        ({"model.likelihood": "poisson"}, "config.model.likelihood='poisson'"),
        ({"model.architecture": "conv", "model.channels": (8, 8, 8, 8)}, "config.model.channels"),
        ({"eval.final_iwae_samples": 10, "eval.iwae_chunk": 4}, "config.eval.final_iwae_samples=10"),
        ({"train.ema_decay": 1.0}, "config.train.ema_decay=1.0"),
        ({"train.num_steps": 2**31}, "config.train.num_steps=2147483648: must be < 2"),
    ],
)
def test_impossible_values_name_the_key(changes, message):
    config = overrides.apply(_smoke(), changes)
    with pytest.raises(config_checks.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_checks.check(config, num_devices=1)


def test_batch_not_divisible_by_devices():
    config = overrides.apply(_smoke(), {"data.batch_size": 30})
    with pytest.raises(config_checks.ConfigError, match="config.data.batch_size=30: not divisible by the device count 4"):
        config_checks.check(config, num_devices=4)


def test_override_unknown_key_and_wrong_type():
    with pytest.raises(KeyError, match="config.optim.lrr"):
        overrides.apply(_smoke(), {"optim.lrr": 1e-3})
    with pytest.raises(TypeError, match="config.data.batch_size='big'"):
        overrides.apply(_smoke(), {"data.batch_size": "big"})


def test_overrides_do_not_alias_nested_sections():
    base = _smoke()
    a = overrides.apply(base, {"optim.lr": 1.0})
    b = overrides.apply(base, {"optim.lr": 2.0})
    assert (a.optim.lr, b.optim.lr) == (1.0, 2.0)
    assert base.optim.lr not in (1.0, 2.0)


@pytest.mark.parametrize(
    "flag,message",
    [
        ("--config.optim.lrr=0.1", "lrr"),
        ("--config.data.batch_size=big", "batch_size"),
        ("--config.data.batch_size=-8", "config.data.batch_size=-8"),
        ("--config.data.name=cifar", "config.data.name='cifar'"),
    ],
)
def test_launcher_refuses_bad_override_before_writing(tmp_path, flag, message):
    workdir = tmp_path / "run"
    result = run(launch_args(workdir, flag))
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not workdir.exists()
