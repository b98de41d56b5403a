"""Fixtures shared by the whole suite.

- Every test gets a private, empty data cache (``$MITBADAK_DATA``), so no test reads or
  writes the user's cache or depends on another test's.
- ``fashion_dir`` is Debian's Fashion-MNIST folder. The real data is required, not
  optional: a missing package is a failure that names the install command.
- ``browser`` (one headless Chromium), ``book_runs`` (the book's network trained once on
  the bundled sample) and ``page_server`` (`mitbadak serve`'s server on a free port) are
  shared by the page tests.
- Without PyTorch, ``torch_reference.py`` (the torch twins of the networks, which imports
  torch unconditionally) is left out of collection; the torch test files that use it skip
  themselves with the reason.
"""

from __future__ import annotations

import importlib.util
import io
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mitbadak.data import MNIST_FILES

# --doctest-modules would otherwise import torch_reference.py and fail on `import torch`,
# and the learners' layers of check_fixtures/ (some of which fail to import on purpose).
collect_ignore = ["check_fixtures"]
if not importlib.util.find_spec("torch"):
    collect_ignore.append("torch_reference.py")

#: Where `apt-get install -y dataset-fashion-mnist` puts the four IDX files.
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def require_fashion(folder: Path = FASHION_DIR) -> Path:
    """``folder`` if it holds the four Fashion-MNIST files; otherwise fail the test."""
    missing = [name for name in MNIST_FILES.values() if not (folder / name).is_file()]
    if missing:
        pytest.fail(
            f"Fashion-MNIST is missing from {folder} ({', '.join(missing)}); the tests need "
            "the real data: run `apt-get install -y dataset-fashion-mnist`"
        )
    return folder


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Debian's Fashion-MNIST folder, checked once."""
    return require_fashion()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder for every test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MITBADAK_DATA", str(folder))
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium shared by the page tests of the session (see browser.py)."""
    from browser import chromium

    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def book_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with one run, ``001``: the book's network as `mitbadak train` trains
    it by default (784-50-10, 1000 iterations) on the bundled sample. Trained once."""
    from mitbadak.cli import main

    runs = tmp_path_factory.mktemp("serve") / "runs"
    args = ["train", "--dataset", "mnist-sample", "--no-progress", "--out", str(runs / "001")]
    assert main(args) == 0
    return runs


@pytest.fixture(scope="session")
def page_server(book_runs: Path) -> Iterator[Any]:
    """`mitbadak serve`'s server on a free port of 127.0.0.1, answering from a thread;
    stopped when the session ends."""
    from mitbadak.web import ModelCatalog, make_server

    log = io.StringIO()
    server = make_server(ModelCatalog(book_runs), "127.0.0.1", 0, log=log)
    thread = threading.Thread(target=server.serve_forever, name="page-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def traced_peak(action: Callable[[], object]) -> int:
    """Peak bytes that Python and NumPy allocate while ``action`` runs (a ValueError,
    the expected refusal, is swallowed)."""
    tracemalloc.start()
    try:
        action()
    except ValueError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak
