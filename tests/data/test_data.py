"""idx reader, TFDS builders (on generated idx files), batching determinism, toy data."""

import gzip
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgen import rng as rng_lib
from jaxgen.data import Batcher, load, sources, toy
from jaxgen.data.idx import read_idx


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_idx_dir(directory, n_train=40, n_test=12, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, (n,), dtype=np.uint8)
        write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), labels)
        arrays[split] = (images, labels)
    return arrays


def data_config(**kw) -> ml_collections.ConfigDict:
    base = {"name": "digits", "dir": "", "tfds_dir": "", "download": False, "binarize": False, "toy_seed": 0,
            "toy_train_size": 1000, "toy_test_size": 100}
    return ml_collections.ConfigDict({**base, **kw})


def test_read_idx_roundtrip_and_bad_magic(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "bad")


def test_tfds_builder_from_idx_files_without_tensorflow(tmp_path, monkeypatch):
    from jaxgen.data import tfds_builders

    src = tmp_path / "mnist"
    src.mkdir()
    arrays = make_idx_dir(src)
    # Generated files cannot match the published md5: check the builder on them with md5 off.
    monkeypatch.setattr(tfds_builders.MnistIdx, "MD5", {})
    monkeypatch.delenv("JAXGEN_DATA_DIR", raising=False)
    loaded = load(data_config(name="mnist", dir=str(tmp_path), tfds_dir=str(tmp_path / "tfds")))
    np.testing.assert_array_equal(loaded.train["x"][..., 0], arrays["train"][0])
    np.testing.assert_array_equal(loaded.test["label"], arrays["test"][1])
    assert loaded.spec.shape == (28, 28, 1) and loaded.spec.num_bins == 256
    # Any prepared TFDS dataset loads by name through the data-source path.
    by_name = load(data_config(name="tfds:mnist_idx", tfds_dir=str(tmp_path / "tfds")))
    np.testing.assert_array_equal(by_name.train["x"], loaded.train["x"])


def test_tfds_builder_rejects_wrong_md5(tmp_path, monkeypatch):
    make_idx_dir(tmp_path)
    monkeypatch.delenv("JAXGEN_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="md5"):
        load(data_config(name="fashion_mnist", dir=str(tmp_path), tfds_dir=str(tmp_path / "tfds")))


def test_missing_dataset_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.delenv("JAXGEN_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        load(data_config(name="mnist", dir=str(tmp_path / "nowhere"), tfds_dir=str(tmp_path / "tfds")))
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and "JAXGEN_DATA_DIR" in message and "config.data.dir" in message


def test_unknown_dataset_names_the_key():
    with pytest.raises(ValueError, match="config.data.name='nope'"):
        load(data_config(name="nope"))


def _batcher(**kw):
    loaded = load(data_config())
    return Batcher(loaded.train, loaded.test, batch_size=100, seed=3, scale=loaded.scale, **kw)


def test_batches_are_deterministic_and_each_epoch_is_a_permutation():
    b = _batcher()
    spe = b.steps_per_epoch
    assert spe == 15
    first = [b.train_batch(s) for s in range(spe)]
    again = _batcher().train_batch(4)
    np.testing.assert_array_equal(first[4]["x"], again["x"])
    labels = np.concatenate([f["label"] for f in first])
    np.testing.assert_array_equal(np.sort(labels), np.sort(b.train["label"]))  # every row once
    assert not np.array_equal(first[0]["x"], b.train_batch(spe)["x"])  # epoch 1 is reshuffled
    assert first[0]["x"].dtype == np.float32 and 0 <= first[0]["x"].min() and first[0]["x"].max() <= 1
    np.testing.assert_array_equal(b.train_batch(7)["index"], np.stack([np.zeros(100), np.arange(700, 800)], -1))


@pytest.mark.parametrize("binarize", [False, True])
def test_process_slices_concatenate_to_the_global_batch(binarize):
    whole = _batcher(binarize=binarize).train_batch(9)
    parts = [_batcher(process_index=p, process_count=4, binarize=binarize).train_batch(9) for p in range(4)]
    for key in ("x", "label", "index"):
        np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])


def test_stream_positions_past_2_to_the_32_keep_distinct_keys():
    # a step whose examples straddle 2^32 (a global batch of 4,096 gets there after ~1M steps):
    # positions are carried as 64-bit words, and position p + 2^32 does not reuse p's key
    b, step = _batcher(), (2**32 - 50) // 100
    words = b.train_batch(step)["index"].astype(np.uint64)
    positions = (words[:, 0] << np.uint64(32)) | words[:, 1]
    np.testing.assert_array_equal(positions, np.arange(step * 100, step * 100 + 100, dtype=np.uint64))
    key = jax.random.key(0)
    high = rng_lib.example_keys(key, rng_lib.position_words(np.array([5, 2**32 + 5, 2**33 + 5, 2**63 + 5])))
    data = np.asarray(jax.random.key_data(high))
    assert len({tuple(d) for d in data}) == 4
    # below 2^32 both forms are fold_in(key, position), the keys of 32-bit positions
    low = np.array([0, 5, 2**31 + 7, 2**32 - 1], dtype=np.uint64)
    expected = np.stack([jax.random.key_data(jax.random.fold_in(key, int(p))) for p in low])
    for index in (rng_lib.position_words(low), low.astype(np.uint32)):
        np.testing.assert_array_equal(jax.random.key_data(rng_lib.example_keys(key, index)), expected)
    np.testing.assert_array_equal(data[0], expected[1])


def test_dynamic_binarization_resamples_and_test_set_is_fixed():
    b = _batcher(binarize=True)
    x0, x1 = b.train_batch(0)["x"], b.train_batch(b.steps_per_epoch)["x"]
    assert set(np.unique(x0)) <= {0.0, 1.0}
    t1 = np.concatenate([t["x"] for t in b.test_batches(100)])
    t2 = np.concatenate([t["x"] for t in b.test_batches(100)])
    np.testing.assert_array_equal(t1, t2)
    # Mean of the binary image matches the grey level on average.
    grey = np.concatenate([t["x"] for t in _batcher().test_batches(100)])
    assert abs(t1.mean() - grey.mean()) < 0.01
    assert x0.shape == x1.shape
    # every epoch binarises each training image afresh: pixel j of an image is 1 with the
    # frequency of its grey level across 40 epochs (standardised residuals ~ N(0, 1)); the
    # unbinarised batcher of the same seed gives the grey images in the same order
    plain, epochs = _batcher(), 40
    draws: dict[bytes, list] = {}
    for step in range(epochs * b.steps_per_epoch):
        for grey_image, binary in zip(plain.train_batch(step)["x"], b.train_batch(step)["x"]):
            draws.setdefault(grey_image.tobytes(), [grey_image.ravel(), []])[1].append(binary.ravel())
    p = np.stack([g for g, _ in draws.values()]).astype(np.float64)
    ones = np.stack([np.sum(d, 0) for _, d in draws.values()])
    n = np.array([len(d) for _, d in draws.values()])[:, None]
    assert n.min() >= epochs and any(not np.array_equal(d[0], d[1]) for _, d in draws.values())
    inner = (p > 0) & (p < 1)
    z = ((ones - n * p) / np.sqrt(n * p * (1 - p)))[inner]
    assert abs(np.mean(z**2) - 1.0) < 0.1 and np.abs(z).max() < 6.0, (np.mean(z**2), np.abs(z).max())
    assert np.all(ones[p == 0] == 0) and np.all(ones[p == 1] == np.broadcast_to(n, p.shape)[p == 1])


def test_test_batches_pad_and_mask():
    b = _batcher()
    batches = list(b.test_batches(128))
    assert [len(t["x"]) for t in batches] == [128, 128, 128]
    assert sum(t["mask"].sum() for t in batches) == 297


def test_toy_distributions():
    key = jax.random.key(0)
    ring = np.asarray(toy.ring8(key, 4000))
    dist = np.linalg.norm(ring[:, None] - np.asarray(toy.ring8_modes())[None], axis=-1).min(1)
    assert np.all(dist < 0.2)
    grid = np.asarray(toy.grid25(key, 4000))
    nearest = np.linalg.norm(grid[:, None] - np.asarray(toy.grid25_modes())[None], axis=-1).argmin(1)
    assert len(np.unique(nearest)) == 25
    board = np.asarray(toy.checkerboard(key, 4000))
    cells = np.floor((board + 4) / 2).astype(int)
    assert np.all((cells.sum(1) % 2) == 0) and np.all(np.abs(board) <= 4)
    for name in toy.SAMPLERS:
        loaded = load(data_config(name=name))
        assert loaded.train["x"].shape == (1000, 2) and np.all(np.isfinite(loaded.train["x"]))
        assert sources.SHAPES[name] == loaded.spec.shape


@pytest.mark.slow
@pytest.mark.integration("mnist", "fashion_mnist")
def test_real_mnist_and_fashion_mnist(shared_data, shared_tfds_dir):
    for name in ("mnist", "fashion_mnist"):
        loaded = load(data_config(name=name, dir=str(shared_data), tfds_dir=str(shared_tfds_dir)))
        assert loaded.train["x"].shape == (60000, 28, 28, 1) and loaded.test["x"].shape == (10000, 28, 28, 1)
        assert np.bincount(loaded.train["label"]).min() > 5000


def test_protocol_binarises_the_test_split_once_for_every_seed_and_family():
    """The Batcher's test batches (stepped families) and the one-call fit data are the protocol's
    single binarisation, whatever the run's seed; a prefix keeps the same images; the training
    split of a one-call fit is binarised by the seed."""
    from experiments import overrides
    from experiments.configs import bernoulli_mixture
    from jaxgen.data import protocol
    from jaxgen.train.one_call import fit_data

    config = bernoulli_mixture.get_config("smoke")
    loaded = load(config.data)
    full = protocol.test_set(loaded.test, loaded.scale, "digits", True, 17)
    assert set(np.unique(full.x)) == {0.0, 1.0}
    # the draw is Bernoulli(grey level): per-pixel frequencies match over the split
    grey = loaded.test["x"].astype(np.float32) / loaded.scale
    assert abs(full.x.mean() - grey.mean()) < 0.01
    for seed in (0, 7):
        b = Batcher(loaded.train, loaded.test, 10, seed, loaded.scale, binarize=True)
        batched = np.concatenate([t["x"][t["mask"] > 0] for t in b.test_batches(64)])
        np.testing.assert_array_equal(batched, full.x)
        fit = fit_data(overrides.apply(config, {"seed": seed}), loaded, full)
        np.testing.assert_array_equal(fit.x_test, full.x.reshape(len(full.x), -1))
    prefix = protocol.test_set(loaded.test, loaded.scale, "digits", True, 17, limit=100)
    np.testing.assert_array_equal(prefix.x, full.x[:100])
    assert prefix.checksum == protocol.checksum(full.x[:100]) != full.checksum
    assert full.describe()["test_examples"] == len(loaded.test["x"])


@pytest.mark.parametrize("name,half,step", [("ring8", 2.6, 0.005), ("grid25", 4.6, 0.0125), ("checkerboard", 4.5, 0.05)])
def test_toy_log_density_integrates_to_one_and_is_highest_where_the_samples_are(name, half, step):
    ticks = np.arange(-half, half, step) + step / 2
    grid = jnp.asarray(np.stack(np.meshgrid(ticks, ticks), -1).reshape(-1, 2), jnp.float32)
    mass = float(jnp.sum(jnp.exp(toy.log_density(name, grid))) * step**2)
    assert mass == pytest.approx(1.0, abs=2e-3)
    x = toy.SAMPLERS[name](jax.random.key(0), 2000)
    assert bool(jnp.all(jnp.isfinite(toy.log_density(name, x))))  # every sample has positive density
    with pytest.raises(ValueError, match="no closed-form"):
        toy.log_density("two_moons", x)
