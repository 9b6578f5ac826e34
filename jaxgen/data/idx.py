"""Reader for the idx format of the original MNIST / Fashion-MNIST files."""

import gzip
import os

import numpy as np

from jaxgen.data.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (gzip-compressed if its name ends in .gz) into an array.

    Header: two zero bytes, a dtype byte, ndim, then ndim big-endian uint32 sizes.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{path} is not an idx file (bad magic {data[:4]!r})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    count = int(np.prod(shape))
    offset = 4 + 4 * ndim
    if len(data) - offset != count * dtype.itemsize:
        raise DataError(f"{path}: header says {shape} but holds {len(data) - offset} bytes")
    return np.frombuffer(data, dtype, count=count, offset=offset).reshape(shape)
