"""TFDS builders for MNIST and Fashion-MNIST made from the original idx files.

They write array_record files and are read through TFDS's data-source path, so
TensorFlow is never needed. Files come from a local directory (offline) or are
downloaded from the original hosts (online) and checked against their md5.
"""

import hashlib
import os
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from jaxgen.data.errors import DataError
from jaxgen.data.idx import read_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class _IdxImages(tfds.core.GeneratorBasedBuilder):
    """28x28x1 uint8 images with 10 labels, from the four original idx files."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.1.0": "Records keep the order of the idx files."}
    URL: ClassVar[str] = ""
    MD5: ClassVar[dict[str, str]] = {}
    HOMEPAGE: ClassVar[str] = ""
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the four original idx files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in one directory and pass it as "
        "config.data.dir or the JAXGEN_DATA_DIR environment variable."
    )

    def __init__(self, *, source_dir: str | None = None, **kwargs):
        self._source_dir = source_dir
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("image", "label"),
            disable_shuffling=True,  # keep the idx files' order (row i is the file's example i)
            homepage=self.HOMEPAGE,
        )

    def _split_generators(self, dl_manager):
        names = [n for pair in FILES.values() for n in pair]
        if self._source_dir:
            paths = {n: epath.Path(self._source_dir) / n for n in names}
        else:
            paths = dl_manager.download({n: self.URL + n for n in names})
            paths = {n: epath.Path(p) for n, p in paths.items()}
        for name, path in paths.items():
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            if self.MD5 and digest != self.MD5[name]:
                raise DataError(f"{path}: md5 {digest} does not match the published {self.MD5[name]}")
        return {split: self._generate_examples(paths[i], paths[l]) for split, (i, l) in FILES.items()}

    def _generate_examples(self, images_path, labels_path):
        images, labels = read_idx(images_path), read_idx(labels_path)
        if len(images) != len(labels):
            raise DataError(f"{images_path} has {len(images)} images but {labels_path} {len(labels)} labels")
        for i in range(len(labels)):
            yield i, {"image": images[i][..., None], "label": int(labels[i])}


class MnistIdx(_IdxImages):
    """MNIST (LeCun, Cortes & Burges), CC BY-SA 3.0."""

    URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
    HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
    MD5: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }


class FashionMnistIdx(_IdxImages):
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research), MIT licence."""

    URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
    MD5: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }


BUILDERS = {"mnist": MnistIdx, "fashion_mnist": FashionMnistIdx}


def find_source_dir(name: str, data_dir: str) -> str | None:
    """The directory holding `name`'s idx files: `data_dir` itself, or its
    `name/` subfolder; `data_dir` defaults to $JAXGEN_DATA_DIR. None if absent."""
    data_dir = data_dir or os.environ.get("JAXGEN_DATA_DIR", "")
    if not data_dir:
        return None
    for candidate in (os.path.join(data_dir, name), data_dir):
        if all(os.path.exists(os.path.join(candidate, f)) for pair in FILES.values() for f in pair):
            return candidate
    return None


def load_arrays(name: str, data_dir: str, tfds_dir: str, download: bool) -> dict[str, dict[str, np.ndarray]]:
    """Prepare (once) and read `name` into {'train': {'image', 'label'}, 'test': ...}.

    Raises FileNotFoundError saying where to put the files when they are neither
    prepared, nor in a local directory, nor allowed to be downloaded.
    """
    source_dir = find_source_dir(name, data_dir)
    builder = BUILDERS[name](source_dir=source_dir, data_dir=tfds_dir or None, file_format="array_record")
    if not builder.is_prepared():
        if source_dir is None and not download:
            looked = data_dir or os.environ.get("JAXGEN_DATA_DIR", "") or "(no directory given)"
            raise FileNotFoundError(
                f"dataset {name!r} is not prepared in {builder.data_dir} and its idx files were not found in "
                f"{looked!r}. Put {', '.join(f for p in FILES.values() for f in p)} in a directory and set "
                "config.data.dir=DIR or JAXGEN_DATA_DIR=DIR (DIR or DIR/" + name + "), or set config.data.download=True."
            )
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=source_dir))
    out = {}
    for split in FILES:
        source = builder.as_data_source(split=split)
        records = source.__getitems__(list(range(len(source))))
        out[split] = {
            "image": np.stack([r["image"] for r in records]),
            "label": np.asarray([r["label"] for r in records], np.int32),
        }
    return out
