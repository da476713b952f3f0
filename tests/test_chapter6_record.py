"""benchmarks/chapter6.py --record: the resumable ladder's record file."""
import importlib.util
import json
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, os.pardir, "benchmarks", "chapter6.py")


def load_script():
    spec = importlib.util.spec_from_file_location("chapter6_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chapter6():
    if not os.path.exists(SCRIPT):
        pytest.skip("benchmarks/chapter6.py is not in this tree (an installed wheel's tests)")
    return load_script()


def a_run(**change):
    run = {"test_at_best": 0.9955, "seconds": 1323.0, "threads": 2, "finished": "2026-12-07 13:00:00",
           "predictions": [7, 2, 1, 0]}
    run.update(change)
    return run


def test_a_record_reads_back_what_was_written(chapter6, tmp_path):
    path = str(tmp_path / "record.json")
    assert chapter6.read_record(path, 4) == {}
    runs = {"dropout/seed0/epochs40/trainall": a_run(), "relu/seed0/epochs60/trainall": a_run(
        predictions=None)}
    del runs["relu/seed0/epochs60/trainall"]["predictions"]
    chapter6.write_record(path, runs)
    assert chapter6.read_record(path, 4) == runs
    assert [f for f in os.listdir(tmp_path)] == ["record.json"]  # no temporary file left


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "not a chapter6 record"),
    ("[]", "version 1 expected"),
    (json.dumps({"version": 2, "runs": {}}), "version 1 expected"),
    (json.dumps({"version": 1, "runs": []}), "version 1 expected"),
    (json.dumps({"version": 1, "runs": {"k": a_run(test_at_best="0.99")}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(seconds=-1.0)}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(threads=True)}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(predictions=[7, 2, 1])}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(predictions=[7, 2, 1, 10])}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(predictions=[7, 2, 1, 0.0])}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(predictions=[7, 2, 1, True])}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": a_run(test_at_best=99.55)}}), "'k' is damaged"),
    (json.dumps({"version": 1, "runs": {"k": "0.99"}}), "'k' is damaged"),
])
def test_a_damaged_record_is_refused_by_name(chapter6, tmp_path, content, fragment):
    path = tmp_path / "record.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=fragment) as info:
        chapter6.read_record(str(path), 4)
    assert "record.json" in str(info.value)


def test_a_nan_accuracy_is_refused(chapter6, tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"version": 1, "runs": {"k": a_run()}}).replace("0.9955", "NaN"))
    with pytest.raises(ValueError, match="'k' is damaged"):
        chapter6.read_record(str(path), 4)


def test_a_failed_write_keeps_the_old_record(chapter6, tmp_path):
    path = str(tmp_path / "record.json")
    chapter6.write_record(path, {"k": a_run()})
    with pytest.raises(TypeError):
        chapter6.write_record(path, {"k": a_run(seconds=object())})
    assert chapter6.read_record(path, 4) == {"k": a_run()}
    assert os.listdir(tmp_path) == ["record.json"]


def test_a_resumed_ladder_trains_only_what_is_missing(chapter6, mnist_path, tmp_path, monkeypatch):
    """A first sitting trains the dropout rung (which is also the vote's first
    member); the second, asked for a vote of two, trains only the second member
    and votes with the recorded predictions."""
    path = str(tmp_path / "record.json")
    common = ["--epochs", "1", "--train-size", "100", "--data", mnist_path, "--record", path]
    trained = []
    real_train = chapter6.train

    def counting_train(name, layers, *rest):
        trained.append(name)
        return real_train(name, layers, *rest)

    monkeypatch.setattr(chapter6, "train", counting_train)
    # the plain set stands in for the expanded one, which a fresh machine would build
    load = chapter6.network3.load_data_shared
    monkeypatch.setattr(chapter6.network3, "load_data_shared",
                        lambda data, expanded=False: load(data))
    first = chapter6.main(common + ["--only", "dropout"])
    assert trained == ["dropout"]
    second = chapter6.main(common + ["--only", "dropout", "ensemble", "--ensemble-size", "2"])
    assert trained == ["dropout", "ensemble"]
    assert second[0][2:5] == first[0][2:5]  # accuracy and wall time as recorded
    runs = chapter6.read_record(path, 10000)
    assert [k.split("/threads")[0] for k in sorted(runs)] == ["dropout/seed0/epochs1/train100",
                                                             "dropout/seed1/epochs1/train100"]
    # a record without the predictions the vote needs is trained again
    key = min(runs)
    del runs[key]["predictions"]
    chapter6.write_record(path, runs)
    chapter6.main(common + ["--only", "ensemble", "--ensemble-size", "1"])
    assert trained == ["dropout", "ensemble", "ensemble"]
    assert "predictions" in chapter6.read_record(path, 10000)[key]


def test_a_record_is_kept_under_everything_that_decides_the_result(chapter6):
    """Another seed, size, thread count, rate, lambda or data is another key."""
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 1, 2])
    data = [(x, y), (x[:1], y[:1]), (x[1:], y[1:])]
    changed = [(x.copy(), y), (x[:1], y[:1]), (x[1:], y[1:])]
    changed[0][0][2, 3] += 1
    digest = chapter6.data_digest(data)
    assert digest == chapter6.data_digest([(a.copy(), b.copy()) for a, b in data])
    assert chapter6.data_digest(changed) != digest
    base = ("dropout", 0, 40, None, 2, 0.03, 0.0, digest)
    keys = {chapter6.record_key(*base)}
    for i, other in enumerate([None, 1, 41, 100, 1, 0.1, 0.1, chapter6.data_digest(changed)]):
        if other is not None:
            keys.add(chapter6.record_key(*(base[:i] + (other,) + base[i + 1:])))
    assert len(keys) == 8


def small_net_and_data():
    """A dropout network and data small enough for a unit test (mini-batches
    of the ladder's size), built after seeding numpy as the script does."""
    from fastnn.network3 import FullyConnectedLayer, SoftmaxLayer
    rng = np.random.default_rng(5)
    x = rng.random((120, 12), dtype=np.float32)
    y = (x[:, 0] + x[:, 1] > 1).astype(np.int64) + 2 * (x[:, 2] > 0.5)
    data = [(x[:80], y[:80]), (x[80:100], y[80:100]), (x[100:], y[100:])]

    def layers():
        np.random.seed(3)
        return [FullyConnectedLayer(12, 16, p_dropout=0.5), SoftmaxLayer(16, 4, p_dropout=0.5)]
    return layers, data


def weights(net):
    return [a for layer in net.layers for a in (layer.w, layer.b)]


def assert_same_history(hist, expected):
    """Equal, but for the training cost's last bits: each epoch's cost is summed
    over the trainer's chunks of mini-batches, and where the chunks fall
    depends on the calls (the chunk size carries over within a call)."""
    assert hist.keys() == expected.keys()
    for k in hist:
        if k == "training_cost":
            np.testing.assert_allclose(hist[k], expected[k], rtol=1e-12, atol=0)
        else:
            assert hist[k] == expected[k], k


def test_an_epoch_a_call_trains_as_one_call_does(chapter6):
    """train() calls SGD once an epoch (so it can save between epochs); the
    weights, the dropout masks' generator and the history end as one call of
    all the epochs leaves them, the best epoch's iteration counted from the start."""
    layers, data = small_net_and_data()
    whole = chapter6.Network(layers(), chapter6.MB)
    expected = whole.SGD(data[0], 4, chapter6.MB, 0.5, data[1], data[2], lmbda=0.1, verbose=False)
    net, hist, seconds = chapter6.train("t", layers(), 4, 0.5, 0.1, data, False)
    for i, (a, b) in enumerate(zip(weights(net), weights(whole))):
        assert np.array_equal(a, b), "parameter {} differs".format(i)
    assert_same_history(hist, expected)
    assert seconds > 0
    assert net.rng.bit_generator.state == whole.rng.bit_generator.state


def test_a_broken_sitting_goes_on_from_its_last_epoch(chapter6, tmp_path, monkeypatch):
    """A run stopped (Ctrl-C) in its third epoch keeps two in the checkpoint;
    the next sitting trains the last two and ends where an unbroken run does."""
    layers, data = small_net_and_data()
    unbroken, expected, _ = chapter6.train("t", layers(), 4, 0.5, 0.1, data, False)
    checkpoint = str(tmp_path / "member")
    real_sgd = chapter6.Network.SGD
    calls = []

    def stopped_in_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_sgd(self, *args, **kwargs)

    monkeypatch.setattr(chapter6.Network, "SGD", stopped_in_third)
    with pytest.raises(KeyboardInterrupt):
        chapter6.train("t", layers(), 4, 0.5, 0.1, data, False, checkpoint)
    assert sorted(os.listdir(tmp_path)) == ["member.epoch2.npz", "member.json"]
    monkeypatch.setattr(chapter6.Network, "SGD", real_sgd)
    net, hist, seconds = chapter6.train("t", layers(), 4, 0.5, 0.1, data, True, checkpoint)
    for i, (a, b) in enumerate(zip(weights(net), weights(unbroken))):
        assert np.array_equal(a, b), "parameter {} differs".format(i)
    assert_same_history(hist, expected)
    assert sorted(os.listdir(tmp_path)) == ["member.epoch4.npz", "member.json"]
    chapter6.remove_checkpoint(checkpoint)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("damage", ["more epochs", "missing network", "not json", "no history"])
def test_a_damaged_checkpoint_is_refused_by_name(chapter6, tmp_path, damage):
    layers, data = small_net_and_data()
    checkpoint = str(tmp_path / "member")
    chapter6.train("t", layers(), 2, 0.5, 0.1, data, False, checkpoint)
    epochs = 2
    if damage == "no history":
        saved = json.loads((tmp_path / "member.json").read_text())
        saved["history"] = []
        (tmp_path / "member.json").write_text(json.dumps(saved))
    elif damage == "more epochs":
        epochs = 3
    elif damage == "missing network":
        os.remove(checkpoint + ".epoch2.npz")
    else:
        (tmp_path / "member.json").write_text("{")
    with pytest.raises(ValueError, match="member.json: a damaged checkpoint"):
        chapter6.train("t", layers(), epochs, 0.5, 0.1, data, False, checkpoint)
