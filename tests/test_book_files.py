"""mitbadak.book's files: save_params / load_params, the book's pickles, load_mnist.

The pickles here are made by the tests, in the book's format (a pickled dict of NumPy
arrays); one of them would write a file if it were unpickled with ``pickle.load``.
"""

from __future__ import annotations

import gzip
import os
import pickle
import pickletools
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mitbadak
from mitbadak.book import mnist
from mitbadak.book.deep_convnet import DeepConvNet
from mitbadak.book.multi_layer_net_extend import MultiLayerNetExtend
from mitbadak.book.pickles import load_arrays, load_pickle
from mitbadak.book.simple_convnet import SimpleConvNet
from mitbadak.data import MNIST_FILES, DataUnavailableError
from mitbadak.dropout import Dropout


def small_simple_convnet() -> SimpleConvNet:
    return SimpleConvNet(
        (1, 8, 8), {"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1}, 5, 4
    )


class WritesAFile:
    """Unpickling an instance runs ``exec``, which creates ``target``."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.target)!r}, 'w').write('ran')",))


# --- the allow-list unpickler -----------------------------------------------------------


def test_reads_a_pickled_dict_of_arrays(tmp_path: Path) -> None:
    params = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.zeros(3, np.float32)}
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps(params))
    loaded = load_arrays(path)
    assert set(loaded) == {"W1", "b1"} and loaded["b1"].dtype == np.float32
    np.testing.assert_array_equal(loaded["W1"], params["W1"])
    # The book's files were written by NumPy 1, which named the module numpy.core.
    for protocol in (2, 3):
        old_style = pickle.dumps(params, protocol=protocol).replace(b"numpy._core", b"numpy.core")
        assert b"numpy.core.multiarray" in old_style
        path.write_bytes(old_style)
        np.testing.assert_array_equal(load_arrays(path)["W1"], params["W1"])


def test_never_runs_code_from_a_pickle(tmp_path: Path) -> None:
    target = tmp_path / "written-by-the-pickle.txt"
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps({"W1": np.ones(2), "trap": WritesAFile(target)}))
    with pytest.raises(ValueError, match=r"params\.pkl: not read: refused builtins\.exec"):
        load_arrays(path)
    assert not target.exists()
    net = small_simple_convnet()
    with pytest.raises(ValueError, match=r"params\.pkl"):
        net.load_params(path)
    assert not target.exists()
    # The file is armed: plain pickle would have run it.
    pickle.loads(path.read_bytes())
    assert target.read_text() == "ran"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"W": np.array([object()], dtype=object)}, "refused"),
        ([np.ones(2)], "expected a pickled dict of NumPy arrays, found list"),
        ({"W": 1.0}, "'W' is not a numeric NumPy array"),
        ({3: np.ones(2)}, "expected names as keys, found 3"),
    ],
)
def test_refuses_anything_but_a_dict_of_numeric_arrays(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError, match=message):
        load_arrays(path)


def test_refuses_a_file_that_is_not_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "params.pkl"
    path.write_text("W1,b1\n")
    with pytest.raises(ValueError, match=r"params\.pkl: not read"):
        load_arrays(path)


# --- save_params / load_params ----------------------------------------------------------


def test_refuses_a_fifo_or_folder_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "params.pkl"
    os.mkfifo(fifo)  # with no writer, reading it would block forever
    with pytest.raises(ValueError, match=r"params\.pkl: is a named pipe \(FIFO\)"):
        load_arrays(fifo)
    with pytest.raises(ValueError, match=r"is a folder"):
        load_arrays(tmp_path)


def test_save_params_writes_mitbadaks_format_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    net = small_simple_convnet()
    Path("params.pkl").write_bytes(b"the book's trained weights")
    net.save_params("params.pkl")
    assert Path("params.pkl.bak").read_bytes() == b"the book's trained weights"
    assert "params.pkl exists; the old file is kept as params.pkl.bak" in capsys.readouterr().err
    net.save_params()  # the default name, again: a second backup
    assert Path("params.pkl.bak1").exists()
    # An .npz whatever the name; mitbadak.load reads it too.
    assert type(mitbadak.load("params.pkl")).__name__ == "SimpleConvNet"
    other = small_simple_convnet()
    other.load_params()
    x = np.random.default_rng(0).random((3, 1, 8, 8))
    np.testing.assert_array_equal(other.predict(x), net.predict(x))


def test_load_params_keeps_batchnorm_statistics(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    net = MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, use_dropout=True)
    x, t = rng.random((8, 6)), rng.integers(0, 3, 8)
    for _ in range(3):
        net.gradient(x, t)
    net.save_params(tmp_path / "extend.npz")
    other = MultiLayerNetExtend(6, [5], 3, use_batchnorm=True, use_dropout=True)
    other.load_params(tmp_path / "extend.npz")
    np.testing.assert_array_equal(other.predict(x), net.predict(x))


def test_load_params_reads_the_books_pickle_and_checks_it(tmp_path: Path) -> None:
    source = small_simple_convnet()
    params = {name: value.astype(np.float64) for name, value in source.params.items()}
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps(params))
    net = small_simple_convnet()
    net.load_params(path)
    x = np.random.default_rng(2).random((2, 1, 8, 8))
    np.testing.assert_allclose(net.predict(x), source.predict(x), rtol=1e-6)
    assert net.params["W1"].dtype == np.float32
    del params["b3"]
    path.write_bytes(pickle.dumps(params))
    with pytest.raises(ValueError, match=r"params\.pkl: parameters .* do not match"):
        net.load_params(path)
    params["b3"] = np.zeros(7)
    path.write_bytes(pickle.dumps(params))
    with pytest.raises(ValueError, match=r"parameter b3 has shape \(7,\).*needs \(4,\)"):
        net.load_params(path)


def tiny_deepnet(dtype: type = np.float32) -> DeepConvNet:
    """The book's DeepConvNet with 2-2-3-3-4-4 filters on 8x8 images."""
    c1, c2, c3, c4, c5, c6 = ({"filter_num": n} for n in (2, 2, 3, 3, 4, 4))
    return DeepConvNet((1, 8, 8), c1, c2, c3, c4, c5, c6, 6, 3, dtype=dtype)


def test_a_book_trained_deep_convnet_computes_what_the_books_code_computes(
    tmp_path: Path,
) -> None:
    # The book scales by (1 - ratio) at inference, mitbadak by 1 / (1 - ratio) while
    # training: the pickle's weights must be rescaled on loading.
    rng = np.random.default_rng(3)
    params = {
        name: value.astype(np.float64) + 0.1 * rng.random(value.shape)
        for name, value in tiny_deepnet().params.items()
    }
    (tmp_path / "deep.pkl").write_bytes(pickle.dumps(params))
    x = rng.random((4, 1, 8, 8))

    # The book's inference, written out with the raw weights: dropout scales by 1 - p.
    reference = tiny_deepnet(np.float64)
    for name, value in params.items():
        reference.params[name] = value
    expected: np.ndarray = x
    for layer in reference.layers.values():
        if isinstance(layer, Dropout):
            expected = expected * (1 - layer.dropout_ratio)
        else:
            expected = layer.forward(expected)

    net = tiny_deepnet(np.float64)
    net.load_params(tmp_path / "deep.pkl")
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-12)
    np.testing.assert_allclose(net.params["W8"], 0.25 * params["W8"])  # two dropouts
    np.testing.assert_allclose(net.params["b8"], 0.5 * params["b8"])  # the last one
    np.testing.assert_allclose(net.params["W7"], params["W7"])


# --- load_mnist -------------------------------------------------------------------------


def book_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A book checkout: <tmp>/dataset next to <tmp>/ch08, the script's folder."""
    (tmp_path / "dataset").mkdir()
    (tmp_path / "ch08").mkdir()
    monkeypatch.chdir(tmp_path / "ch08")
    monkeypatch.setattr("sys.path", [str(tmp_path / "ch08"), os.pardir])
    return tmp_path / "dataset"


def test_load_mnist_reads_the_books_mnist_pkl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = book_layout(tmp_path, monkeypatch)
    (x, t), (xt, tt) = mitbadak.data.load_mnist(normalize=False, dataset="mnist-sample")
    book = {"train_img": x[:50], "train_label": t[:50].astype(np.uint8), "test_img": xt[:20],
            "test_label": tt[:20].astype(np.uint8)}  # fmt: skip
    (folder / "mnist.pkl").write_bytes(pickle.dumps(book))
    (x1, t1), (x2, t2) = mnist.load_mnist(flatten=False, one_hot_label=True)
    assert x1.shape == (50, 1, 28, 28) and x1.dtype == np.float32 and x1.max() == 1.0
    assert t1.shape == (50, 10) and (t1.argmax(axis=1) == t[:50]).all()
    assert x2.shape == (20, 1, 28, 28) and t2.shape == (20, 10)
    book["test_img"] = xt[:20, :100]
    (folder / "mnist.pkl").write_bytes(pickle.dumps(book))
    with pytest.raises(ValueError, match=r"mnist\.pkl: test_img must be uint8 of the book's shape"):
        mnist.load_mnist()


def test_load_mnist_checks_the_idx_files_of_the_dataset_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fashion_dir: Path
) -> None:
    folder = book_layout(tmp_path, monkeypatch)
    # Fashion-MNIST under MNIST's names: found first, and refused by its hash.
    for name in MNIST_FILES.values():
        shutil.copy(fashion_dir / name, folder / name)
    with gzip.open(folder / MNIST_FILES["t_test"]) as f:
        assert f.read(4) == b"\x00\x00\x08\x01"
    with pytest.raises(
        ValueError, match="train-images-idx3-ubyte.gz: hash .* is not the known mnist"
    ):
        mnist.load_mnist()


def test_load_mnist_falls_back_to_the_sample_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    book_layout(tmp_path, monkeypatch)
    real = mnist._load_mnist

    def offline(*args: Any, dataset: str = "mnist", **kw: Any) -> Any:
        if dataset == "mnist":
            raise DataUnavailableError("no network")
        return real(*args, dataset=dataset, **kw)

    monkeypatch.setattr(mnist, "_load_mnist", offline)
    (x, t), (xt, tt) = mnist.load_mnist(one_hot_label=True)
    assert x.shape == (8000, 784) and t.shape == (8000, 10) and xt.shape == (2000, 784)
    assert "using the bundled sample of 10,000 real MNIST digits" in capsys.readouterr().err


# --- issue 17: hostile pickles -----------------------------------------------------------


def test_a_dtype_cannot_be_given_state_after_its_array_is_made(tmp_path: Path) -> None:
    # The array is made, then BUILD on the memoised numpy.dtype('f8') claims object items
    # (flags 63) over the file's raw bytes (issue 17.1): memory-unsafe if accepted.
    data = pickle.dumps({"W": np.ones(2)}, protocol=2)
    ops = list(pickletools.genops(data))
    at = next(k for k, (op, arg, _) in enumerate(ops) if arg == "numpy dtype")
    reduce = next(k for k in range(at, len(ops)) if ops[k][0].name == "REDUCE")
    slot = ops[reduce + 1][1]
    assert isinstance(slot, int)
    state = b"(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
    hostile = data[:-2] + b"h" + bytes([slot]) + state + b"0" + data[-2:]
    path = tmp_path / "w.pkl"
    path.write_bytes(hostile)
    with pytest.raises(ValueError, match="not read") as info:
        load_arrays(path)
    assert len(str(info.value)) <= 300


def test_nested_or_shared_tuples_are_a_short_error(tmp_path: Path) -> None:
    # A key made of 2**40 shared tuples in 60-odd bytes (issue 17.2).
    parts = [b"\x80\x04}", b"N"]
    for i in range(40):
        parts.append(b"q" + bytes([i]) + b"h" + bytes([i]) + b"\x86")
    parts.append(b"K\x01s.")
    path = tmp_path / "dag.pkl"
    path.write_bytes(b"".join(parts))
    with pytest.raises(ValueError) as info:
        load_pickle(path)
    assert len(str(info.value)) <= 300
    deep = b"\x80\x04}" + b"N" + b"\x85" * 300_000 + b"K\x01s."
    path.write_bytes(deep)
    with pytest.raises(ValueError) as info:
        load_pickle(path)
    assert len(str(info.value)) <= 300
    path.write_bytes(b"\x80\x04]" + b"N" + b"\x85" * 300_000 + b"a.")
    with pytest.raises(ValueError, match="nested more than"):
        load_pickle(path)


def test_only_a_regular_file_of_sane_size_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pkl"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse.pkl"
    with open(sparse, "wb") as f:
        f.truncate(3584 << 20)
    for path in (fifo, Path("/dev/zero"), sparse):
        with pytest.raises(ValueError) as info:
            load_arrays(path)
        assert "\n" not in str(info.value) and len(str(info.value)) <= 300


def test_load_pickle_reads_volume_2s_shapes(tmp_path: Path) -> None:
    content = {
        "word_vecs": np.ones((3, 2), np.float16),
        "word_to_id": {"you": 0, "say": 1},
        "id_to_word": {0: "you", 1: "say"},
        "params": [np.arange(3), (np.zeros(1, np.complex128), 1.5, None, True)],
    }
    path = tmp_path / "v2.pkl"
    for protocol in (2, 4):
        path.write_bytes(pickle.dumps(content, protocol=protocol))
        loaded = load_pickle(path)
        assert loaded["word_to_id"] == content["word_to_id"]
        assert loaded["id_to_word"] == content["id_to_word"]
        np.testing.assert_array_equal(loaded["word_vecs"], content["word_vecs"])
        assert loaded["word_vecs"].dtype == np.float16
        assert loaded["params"][1][1:] == (1.5, None, True)
