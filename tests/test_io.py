"""Saving and loading models: exact round trips and clear errors for bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mitbadak import serialization as io
from mitbadak.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from mitbadak.models import Sequential, TwoLayerNet


def _net() -> TwoLayerNet:
    return TwoLayerNet(12, 7, 4, 0.5, rng=np.random.default_rng(3))


def test_round_trip_predicts_exactly_the_same(tmp_path: Path) -> None:
    net = _net()
    x = np.random.default_rng(0).standard_normal((5, 12)).astype(np.float32)
    path = io.save(net, tmp_path / "model.npz", metadata={"dataset": "toy"})
    loaded = io.load(path)
    assert type(loaded) is TwoLayerNet
    assert list(loaded.params) == ["W1", "b1", "W2", "b2"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    assert loaded.metadata == {"dataset": "toy"}
    assert loaded.config() == net.config()


def test_float64_model_stays_float64(tmp_path: Path) -> None:
    net = TwoLayerNet(6, 5, 3, rng=np.random.default_rng(0), dtype=np.float64)
    loaded = io.load(io.save(net, tmp_path / "m.npz"))
    assert loaded.dtype == np.float64
    for name in net.params:
        np.testing.assert_array_equal(loaded.params[name], net.params[name])


def test_general_sequential_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    net = Sequential(
        [
            Affine(rng.standard_normal((6, 5)), rng.standard_normal(5)),
            Sigmoid(),
            Affine(rng.standard_normal((5, 3)), rng.standard_normal(3)),
            Relu(),
        ],
        SoftmaxWithLoss(),
    )
    x = rng.standard_normal((4, 6))
    loaded = io.load(io.save(net, tmp_path / "seq.npz"))
    assert type(loaded) is Sequential
    assert [type(layer) for layer in loaded.layers.values()] == [Affine, Sigmoid, Affine, Relu]
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_save_refuses_to_overwrite_without_asking(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        io.save(_net(), path)
    assert path.read_bytes() == b"precious"
    io.save(_net(), path, overwrite=True)
    assert isinstance(io.load(path), TwoLayerNet)


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    io.save(_net(), tmp_path / "model.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_saved_file_needs_no_pickle(tmp_path: Path) -> None:
    path = io.save(_net(), tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert "architecture" in npz.files
        arch = json.loads(str(npz["architecture"]))
    assert arch["class"] == "TwoLayerNet"
    assert arch["params"]["W1"] == [12, 7]


def test_file_that_is_not_ours(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"other\.npz.*not a mitbadak model"):
        io.load(other)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.npz"):
        io.load(text)


def test_truncated_file(tmp_path: Path) -> None:
    path = io.save(_net(), tmp_path / "model.npz")
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz"):
        io.load(cut)


def _rewrite(src: Path, dst: Path, replace: dict[str, np.ndarray]) -> None:
    with np.load(src, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update(replace)
    np.savez(dst, **arrays)


def test_shapes_that_disagree_with_the_architecture(tmp_path: Path) -> None:
    path = io.save(_net(), tmp_path / "model.npz")
    bad = tmp_path / "bad.npz"
    _rewrite(path, bad, {"param/W1": np.zeros((12, 8), dtype=np.float32)})
    with pytest.raises(ValueError, match=r"bad\.npz.*W1.*\(12, 8\)"):
        io.load(bad)


def test_missing_parameter(tmp_path: Path) -> None:
    path = io.save(_net(), tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files if key != "param/b2"}
    bad = tmp_path / "missing.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=r"missing\.npz.*do not match"):
        io.load(bad)


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    path = io.save(_net(), tmp_path / "model.npz")
    bad = tmp_path / "pickled.npz"
    _rewrite(path, bad, {"param/b1": np.array([object()], dtype=object)})
    assert zipfile.is_zipfile(bad)
    with pytest.raises(ValueError, match=r"pickled\.npz"):
        io.load(bad)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nope.npz")


def test_every_model_round_trips_with_identical_predictions(tmp_path: Path) -> None:
    from mitbadak.models import MultiLayerNet, SimpleConvNet

    rng = np.random.default_rng(7)
    mlp = MultiLayerNet(
        20,
        [9, 7],
        4,
        use_batchnorm=True,
        dropout_ratio=0.3,
        weight_decay_lambda=0.01,
        rng=np.random.default_rng(1),
    )
    conv = SimpleConvNet(
        input_dim=(1, 8, 8),
        conv_param={"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 1},
        hidden_size=6,
        output_size=4,
        rng=np.random.default_rng(2),
    )
    cases = [(mlp, rng.standard_normal((6, 20))), (conv, rng.standard_normal((6, 1, 8, 8)))]
    for net, x in cases:
        x = x.astype(np.float32)
        t = rng.integers(0, 4, 6)
        for _ in range(3):  # move BatchNorm's running statistics off their start values
            net.gradient(x, t)
        path = io.save(net, tmp_path / f"{type(net).__name__}.npz")
        loaded = io.load(path)
        assert type(loaded) is type(net)
        assert loaded.config() == net.config()
        np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
        for lname, layer in net.layers.items():
            for key, value in layer.buffers.items():
                np.testing.assert_array_equal(loaded.layers[lname].buffers[key], value)
    assert any(layer.buffers for layer in mlp.layers.values())
