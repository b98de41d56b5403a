"""Datasets: MNIST, Fashion-MNIST and a bundled MNIST sample, loaded the way the book does.

Modules: ``mnist`` (:func:`load_mnist` and the dataset facts), ``idx`` (the file format),
``sources`` (files, hashes, mirrors), ``download`` (finding and fetching files), ``cache``
(parsed arrays) and ``images`` (your own handwriting as MNIST).
"""

from mitbadak.data.cache import array_cache_path
from mitbadak.data.download import fetch, locate
from mitbadak.data.idx import parse_idx, read_idx
from mitbadak.data.images import mnist_like, read_digit
from mitbadak.data.mnist import (
    CLASS_NAMES,
    DATASETS,
    MNIST_FILES,
    SAMPLE_FILE,
    class_names,
    load_mnist,
)
from mitbadak.data.sources import (
    ENV_VAR,
    FASHION_MNIST,
    MNIST,
    SOURCES,
    DataSource,
    DataUnavailableError,
    cache_dir,
)

__all__ = [
    "CLASS_NAMES",
    "DATASETS",
    "ENV_VAR",
    "FASHION_MNIST",
    "MNIST",
    "MNIST_FILES",
    "SAMPLE_FILE",
    "SOURCES",
    "DataSource",
    "DataUnavailableError",
    "array_cache_path",
    "cache_dir",
    "class_names",
    "fetch",
    "load_mnist",
    "locate",
    "mnist_like",
    "parse_idx",
    "read_idx",
    "read_digit",
]
