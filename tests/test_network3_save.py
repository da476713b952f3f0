"""network3.Network.save and network3.load: the layers, the weights and the
training state come back exactly; damaged or foreign files are refused with
a ValueError naming the file and what is wrong; a folder written by
``fastnn train --preset`` loads (tests/test_cli.py runs the command)."""
import io
import json
import zipfile

import numpy as np
import pytest

from fastnn import activations, network3
from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer

from test_network3 import M, small_data, small_net


def leaky_net(dtype):
    np.random.seed(7)
    layers = [ConvPoolLayer(image_shape=(M, 1, 12, 12), filter_shape=(3, 1, 3, 3), poolsize=(2, 2),
                            activation_fn=activations.get("leaky_relu", slope=0.2)),
              FullyConnectedLayer(n_in=3*5*5, n_out=7, activation_fn=ReLU, p_dropout=0.25),
              SoftmaxLayer(n_in=7, n_out=5, p_dropout=0.1)]
    return network3.Network(layers, M, dtype=dtype, backend="cython", seed=3)


def same_network(a, b):
    assert a.mini_batch_size == b.mini_batch_size and a.dtype == b.dtype
    for l, (p, q) in enumerate(zip(a.layers, b.layers)):
        assert type(p) is type(q), l
        assert p.p_dropout == q.p_dropout, l
        if not isinstance(p, SoftmaxLayer):
            assert p.activation_fn == q.activation_fn, l
        if isinstance(p, ConvPoolLayer):
            assert (p.image_shape, p.filter_shape, p.poolsize) == \
                (q.image_shape, q.filter_shape, q.poolsize), l
        np.testing.assert_array_equal(p.w, q.w, err_msg="layer {} w".format(l))
        np.testing.assert_array_equal(p.b, q.b, err_msg="layer {} b".format(l))
        assert p.w.dtype == q.w.dtype == a.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_round_trip_goes_on_training_exactly(tmp_path, dtype):
    """Save after an epoch with momentum and dropout, load, train one more
    epoch on each: the same weights bit for bit (velocities and the dropout
    generator were kept)."""
    x, y = small_data(M*10, seed=1, dtype=dtype)
    net = leaky_net(dtype)
    net.SGD((x, y), 1, M, 0.05, (x[:8], y[:8]), None, momentum=0.9, verbose=False)
    net.save(tmp_path / "n.npz")
    state = np.random.get_state()
    loaded = network3.load(tmp_path / "n.npz")
    assert np.random.get_state()[1].tolist() == state[1].tolist()    # the global generator untouched
    same_network(net, loaded)
    assert loaded.layers[0].activation_fn == activations.get("leaky_relu", slope=0.2)
    for n in (net, loaded):
        n.SGD((x, y), 1, M, 0.05, (x[:8], y[:8]), None, momentum=0.9, verbose=False)
    same_network(net, loaded)


def test_untrained_network_and_a_folder_load(tmp_path):
    net = small_net(backend="numpy")
    net.save(tmp_path / "network.npz")
    loaded = network3.load(tmp_path, backend="numpy")          # a folder: its network.npz
    same_network(net, loaded)
    assert loaded.backend == "numpy"


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def saved_arrays(tmp_path):
    net = small_net(backend="numpy")
    net.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as saved:
        return {k: saved[k] for k in saved.files}


@pytest.mark.parametrize("damage,words", [
    ("truncated", "not a readable saved network3 network"),
    ("empty", "not a readable saved network3 network"),
    ("not a zip", "not a readable saved network3 network"),
    ("missing w0", "lacks w0"),
    ("wrong shape", "w1 is float64 (3, 3, 2, 2)"),
    ("nan", "b2 holds NaN"),
    ("object", "holds Python objects"),
    ("bad json", "network is not complete JSON"),
    ("deep json", "nested too deeply"),
    ("foreign json", "not a fastnn.network3 description"),
    ("unknown layer", "layer 1: unknown type 'PoolLayer'"),
    ("bad layer", "layer 0 (ConvPoolLayer): poolsize"),
    ("bad activation", "layer 2 (FullyConnectedLayer): unknown activation 'swish'"),
    ("bad parameter", "layer 2 (FullyConnectedLayer)"),
    ("huge header", "more than the file holds"),
    ("bad training", "its training state"),
    ("extra array", "arrays this network does not have: w9"),
])
def test_damaged_file_is_refused_naming_the_problem(tmp_path, damage, words):
    arrays = saved_arrays(tmp_path)
    path = tmp_path / "bad.npz"
    description = json.loads(str(arrays["network"]))
    if damage == "truncated":
        path.write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "not a zip":
        path.write_bytes(b"\x93NUMPY" + b"x" * 100)
    else:
        if damage == "missing w0":
            del arrays["w0"]
        elif damage == "wrong shape":
            arrays["w1"] = arrays["w1"][:3]
        elif damage == "nan":
            arrays["b2"] = arrays["b2"] * np.nan
        elif damage == "object":
            arrays["b0"] = arrays["b0"].astype(object)
        elif damage == "bad json":
            arrays["network"] = np.array(str(arrays["network"])[:-5])
        elif damage == "deep json":
            arrays["network"] = np.array("[" * 100000 + "]" * 100000)
        elif damage == "foreign json":
            arrays["network"] = np.array(json.dumps({"sizes": [784, 30, 10]}))
        elif damage == "unknown layer":
            description["layers"][1]["type"] = "PoolLayer"
            arrays["network"] = np.array(json.dumps(description))
        elif damage == "bad layer":
            description["layers"][0]["poolsize"] = [0, 2]
            arrays["network"] = np.array(json.dumps(description))
        elif damage in ("bad activation", "bad parameter"):
            description["layers"][2]["activation_fn"] = (
                {"name": "swish", "params": {}} if damage == "bad activation" else
                {"name": "leaky_relu", "params": {"slope": "steep"}})
            arrays["network"] = np.array(json.dumps(description))
        elif damage == "bad training":
            arrays["training"] = np.array(json.dumps({"rng": "nonsense"}))
        elif damage == "extra array":
            arrays["w9"] = arrays["w0"]
        write_npz(path, **arrays)
        if damage == "huge header":
            # a member whose header declares far more data than it holds
            with zipfile.ZipFile(path, "a") as archive:
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    header, {"descr": "<f8", "fortran_order": False, "shape": (10**11, 5)})
                archive.writestr("w5.npy", header.getvalue() + b"\0" * 16)
    with pytest.raises(ValueError, match="bad.npz") as info:
        network3.load(path)
    assert words in str(info.value)


def test_a_file_declaring_too_much_is_refused_unread(tmp_path, monkeypatch):
    """A compressed member may declare far more than the file's size (a zip
    bomb): the declared total is bounded before anything is decompressed."""
    from fastnn import _network3_file
    arrays = saved_arrays(tmp_path)
    with open(tmp_path / "bad.npz", "wb") as f:
        np.savez_compressed(f, **arrays)
    monkeypatch.setattr(_network3_file, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r"bad.npz .*arrays declare [\d,]+ bytes, more than the "
                                         r"1,000 a saved network may hold"):
        network3.load(tmp_path / "bad.npz")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved network"):
        network3.load(tmp_path / "nothing.npz")


def test_a_file_without_its_description_loads_from_the_preset_beside_it(tmp_path):
    """network.npz as fastnn train --preset wrote it before the description
    was saved: the preset named in settings.json builds the network."""
    from fastnn.ladder import LADDER, MB
    np.random.seed(0)
    net = network3.Network(LADDER["one-conv"].layers(), MB)
    arrays = {}
    for i, layer in enumerate(net.layers):
        arrays["w{}".format(i)], arrays["b{}".format(i)] = layer.w * 2, layer.b
    arrays["training"] = np.array(json.dumps(net.training_state()))
    write_npz(tmp_path / "network.npz", **arrays)
    with pytest.raises(ValueError, match="no settings.json beside it"):
        network3.load(tmp_path)
    (tmp_path / "settings.json").write_text(json.dumps({"preset": "one-conv"}))
    loaded = network3.load(tmp_path)
    np.testing.assert_array_equal(loaded.layers[0].w, net.layers[0].w * 2)


def test_bit_flips_load_or_raise_value_error(tmp_path):
    """Flipped bytes anywhere in a saved file: either it still loads (a flip
    inside a weight's mantissa) or ValueError names the file; never another
    exception."""
    saved_arrays(tmp_path)
    good = (tmp_path / "good.npz").read_bytes()
    rng = np.random.default_rng(0)
    outcomes = set()
    for position in rng.integers(0, len(good), 60):
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        path = tmp_path / "flipped.npz"
        path.write_bytes(bytes(damaged))
        try:
            network3.load(path)
            outcomes.add("loaded")
        except ValueError as exc:
            assert "flipped.npz" in str(exc)
            outcomes.add("refused")
    assert "refused" in outcomes
