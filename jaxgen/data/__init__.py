"""Datasets (TFDS, embedded, toy 2-D) and deterministic, shardable batching."""

from jaxgen.data.errors import DataError
from jaxgen.data.pipeline import Batcher, DataSpec
from jaxgen.data.sources import DATASETS, Loaded, is_known, load

__all__ = ["DATASETS", "Batcher", "DataError", "DataSpec", "Loaded", "is_known", "load"]
