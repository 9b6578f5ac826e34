"""Dataset table: name -> loader of in-memory train / test arrays.

Images: 'mnist', 'fashion_mnist' (TFDS from idx files), 'digits'
(scikit-learn's embedded 8x8 digits), 'tfds:NAME' (any prepared TFDS dataset
with an 'image' feature, read through the data-source path). Toy 2-D:
'ring8', 'grid25', 'two_moons', 'swiss_roll', 'checkerboard' (generated in JAX). Text:
'tiny_shakespeare', 'markov_text' (windows of token ids, jaxgen/data/text.py) and their
restoration pairs 'tiny_shakespeare_restore', 'markov_restore' (jaxgen/data/seq2seq.py). Video:
'bouncing_balls' (binary frames [16, 16, 16, 1], jaxgen/data/video.py).
"""

import dataclasses

import jax
import numpy as np

from jaxgen.data import seq2seq as seq2seq_lib
from jaxgen.data import text as text_lib
from jaxgen.data import toy, video
from jaxgen.data.pipeline import DataSpec


@dataclasses.dataclass(frozen=True)
class Loaded:
    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    spec: DataSpec
    scale: float | None  # divide 'x' by this to get [0, 1]
    text: text_lib.TextData | None = None  # vocabulary and protocol facts of a text dataset


def _images(train: dict, test: dict, num_bins: int, num_classes: int) -> Loaded:
    train = {"x": train["image"], "label": train["label"]}
    test = {"x": test["image"], "label": test["label"]}
    spec = DataSpec(tuple(train["x"].shape[1:]), num_classes, num_bins, len(train["x"]), len(test["x"]))
    return Loaded(train, test, spec, float(num_bins - 1))


def _idx_dataset(name: str):
    def load(options: dict) -> Loaded:
        from jaxgen.data import tfds_builders  # imports TFDS only when needed

        arrays = tfds_builders.load_arrays(name, options["dir"], options["tfds_dir"], options["download"])
        return _images(arrays["train"], arrays["test"], 256, 10)

    return load


def _digits(options: dict) -> Loaded:
    """1797 8x8 images with 17 grey levels (0..16); the last 297 are the test split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[..., None]  # [1797, 8, 8, 1]
    labels = bunch.target.astype(np.int32)
    train = {"image": images[:1500], "label": labels[:1500]}
    test = {"image": images[1500:], "label": labels[1500:]}
    return _images(train, test, 17, 10)


def _tfds(name: str):
    def load(options: dict) -> Loaded:
        import tensorflow_datasets as tfds

        out = {}
        for split in ("train", "test"):
            source = tfds.data_source(name, split=split, data_dir=options["tfds_dir"] or None, download=False)
            records = source.__getitems__(list(range(len(source))))
            out[split] = {"image": np.stack([r["image"] for r in records])}
            out[split]["label"] = np.asarray([r.get("label", 0) for r in records], np.int32)
        if out["train"]["image"].dtype != np.uint8:
            raise ValueError(f"tfds:{name}: expected uint8 images, got {out['train']['image'].dtype}")
        return _images(out["train"], out["test"], 256, int(out["train"]["label"].max()) + 1)

    return load


def _generated(sample, num_bins: int | None = None, scale: float | None = None):
    """A dataset drawn in JAX by sample(key, n): the toy points, the bouncing-ball videos."""
    def load(options: dict) -> Loaded:
        key = jax.random.key(options["toy_seed"])
        train = np.asarray(sample(jax.random.fold_in(key, 0), options["toy_train_size"]))
        test = np.asarray(sample(jax.random.fold_in(key, 1), options["toy_test_size"]))
        spec = DataSpec(tuple(train.shape[1:]), 0, num_bins, len(train), len(test))
        return Loaded({"x": train}, {"x": test}, spec, scale)

    return load


def _text(name: str):
    def load(options: dict) -> Loaded:
        loader = seq2seq_lib.load_pairs if name.endswith("_restore") else text_lib.load_text
        train, test, info = loader(name, options)
        spec = DataSpec(tuple(train["x"].shape[1:]), 0, None, len(train["x"]), len(test["x"]), info.vocab.size,
                        tuple(int(c) for c in info.vocab.token_chars))
        return Loaded(train, test, spec, None, info)

    return load


DATASETS = {
    "mnist": _idx_dataset("mnist"),
    "fashion_mnist": _idx_dataset("fashion_mnist"),
    "digits": _digits,
    "tiny_shakespeare": _text("tiny_shakespeare"),
    "markov_text": _text("markov_text"),
    "tiny_shakespeare_restore": _text("tiny_shakespeare_restore"),
    "markov_restore": _text("markov_restore"),
    "bouncing_balls": _generated(video.videos, num_bins=2, scale=1.0),  # binary frames
    **{name: _generated(toy.SAMPLERS[name]) for name in toy.SAMPLERS},
}
# Example shapes known without loading, so configs are checked before any work.
SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "digits": (8, 8, 1), **{n: (2,) for n in toy.SAMPLERS},
          "bouncing_balls": (video.FRAMES, video.SIZE, video.SIZE, 1)}


def is_known(name: str) -> bool:
    return name in DATASETS or (name.startswith("tfds:") and len(name) > 5)


# The data keys each kind of source reads (and the only ones its loader is handed): a key
# outside its kind's tuple does nothing for that dataset.
SOURCE_KEYS = {
    "idx": ("dir", "tfds_dir", "download"),  # mnist, fashion_mnist: idx files prepared into TFDS
    "tfds": ("tfds_dir",),  # tfds:NAME, prepared beforehand
    "embedded": (),  # digits (scikit-learn ships it)
    "toy": ("toy_seed", "toy_train_size", "toy_test_size"),  # generated in JAX
    "video": ("toy_seed", "toy_train_size", "toy_test_size"),  # bouncing_balls, generated in JAX (videos)
    "text": ("dir", "tfds_dir", "download", "tokenizer", "vocab_size", "block_size"),  # tiny_shakespeare
    # generated by a seeded Markov chain: the toy keys count characters
    "synthetic_text": ("tfds_dir", "toy_seed", "toy_train_size", "toy_test_size", "tokenizer", "vocab_size", "block_size"),
}


def source_kind(name: str) -> str:
    if name.startswith("tfds:"):
        return "tfds"
    if name in toy.SAMPLERS:
        return "toy"
    if name == "bouncing_balls":
        return "video"
    if name in ("tiny_shakespeare", "tiny_shakespeare_restore"):
        return "text"
    if name in ("markov_text", "markov_restore"):
        return "synthetic_text"
    return "embedded" if name == "digits" else "idx"


def source_options(data_config) -> dict:
    """{key: value} of the data keys `data_config.name`'s loader reads (SOURCE_KEYS)."""
    return {key: data_config[key] for key in SOURCE_KEYS[source_kind(data_config.name)]}


def load(data_config) -> Loaded:
    """Load `data_config.name` (see the module docstring for the names)."""
    name = data_config.name
    if name.startswith("tfds:"):
        return _tfds(name[5:])(source_options(data_config))
    if name not in DATASETS:
        raise ValueError(f"config.data.name={name!r} is unknown; expected one of {sorted(DATASETS)} or 'tfds:NAME'")
    return DATASETS[name](source_options(data_config))
