"""The ``fastnn`` command, run as a user runs it: in a child process
(``python -m fastnn.cli``, importing the same fastnn as these tests), its
files and exit status checked."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers import fastnn_env, find_mnist, require_mnist

pytest.importorskip("matplotlib")


#: the subcommands that train on MNIST unless told of other data
MNIST_COMMANDS = ("demo", "train", "figures", "bench")


def fastnn(*args, cwd=None, env=None, module="fastnn.cli", timeout=300):
    """Run ``fastnn ARGS...``; returns the CompletedProcess (text output).  A command
    that would train on MNIST is skipped when MNIST is nowhere (and ``env`` does not
    point FASTNN_DATA somewhere on purpose)."""
    env = env or {}
    data = find_mnist()
    if data is None and "FASTNN_DATA" not in env and args and args[0] in MNIST_COMMANDS \
            and "--help" not in args and "--dataset" not in args and "--data" not in args:
        require_mnist()
    environment = fastnn_env(**({"FASTNN_DATA": data} if data else {}))
    environment.update(env)
    return subprocess.run([sys.executable, "-m", module] + [str(a) for a in args], cwd=cwd,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def assert_png(path, size):
    """``path`` is a PNG that decodes to ``size`` (height, width) pixels and
    shows something: not one flat colour, and a fair share of drawn pixels."""
    import matplotlib.image
    assert os.path.getsize(path) > 5000, "{} is only {} bytes".format(path, os.path.getsize(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", "{} is not a PNG".format(path)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == size, "{}: {} pixels, expected {}".format(path, image.shape[:2], size)
    rgb = image[..., :3]
    drawn = np.mean(np.any(rgb < 0.9, axis=-1))
    assert rgb.std() > 0.05 and drawn > 0.02, "{} looks blank (std {:.3f}, {:.1%} drawn)".format(
        path, rgb.std(), drawn)


def assert_one_line_error(result, *words):
    """Exit status 2, one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one line on stderr, got:\n" + result.stderr
    assert "Traceback" not in result.stderr and "error:" in lines[0], lines[0]
    for word in words:
        assert word in lines[0], "{!r} not in {!r}".format(word, lines[0])


#: Size in pixels of the PNGs: history plots, and figures as drawn (80 dpi).
CURVES = (360, 880)


def test_version_and_help():
    out = fastnn("--version")
    assert out.returncode == 0 and out.stdout.strip().startswith("fastnn 0.")
    for command in ("demo", "train", "plot", "figures", "bench"):
        out = fastnn(command, "--help")
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("usage: fastnn " + command)
    out = fastnn()
    assert out.returncode == 2 and "COMMAND" in out.stdout


def test_demo_and_its_old_name():
    """``fastnn demo`` runs the demo; ``python -m fastnn`` (fastnn-demo) is the same."""
    out = fastnn("demo", "--epochs", "1")
    assert out.returncode == 0, out.stderr
    assert "Epoch 0: " in out.stdout and "x faster" in out.stdout
    old = fastnn("--dtype", "float16", module="fastnn")
    assert_one_line_error(old, "fastnn-demo", "--dtype", "float16")


def test_train_writes_network_history_and_plot(tmp_path):
    out_dir = tmp_path / "run"
    out = fastnn("train", "--sizes", "784,20,10", "--epochs", 2, "--train-size", 2000,
                 "--eta", 0.5, "--lmbda", 1.0, "--monitor-training", "--monitor-gradients",
                 "--plot", "--out", out_dir, "--progress", "always")
    assert out.returncode == 0, out.stderr
    assert "epoch 1 (2/2)" in out.stdout and "wrote" in out.stdout
    assert re.search(r"test accuracy \d+\.\d\d% on the 10,000 test images", out.stdout), out.stdout
    assert "batch" in out.stderr          # the forced progress bars
    from fastnn import MLP, history
    net = MLP.load(str(out_dir / "network.json"))
    assert net.sizes == [784, 20, 10]
    records = history.load(str(out_dir / "history.json"))
    assert [r["epoch"] for r in records] == [0, 1]
    for key in ("eta", "seconds", "val_cost", "val_accuracy", "train_cost", "train_accuracy"):
        assert all(isinstance(r[key], float) for r in records), key
    assert all(len(r["gradient_norms"]) == 1 for r in records)
    assert records[1]["val_accuracy"] > 0.8
    assert history.load(str(out_dir / "history.csv")) == records
    assert_png(str(out_dir / "curves.png"), CURVES)

    # --resume: two more epochs after the saved ones, numbered on
    out = fastnn("train", "--epochs", 2, "--train-size", 2000, "--out", out_dir, "--resume",
                 "--quiet")
    assert out.returncode == 0, out.stderr
    resumed = history.load(str(out_dir / "history.json"))
    assert [r["epoch"] for r in resumed] == [0, 1, 2, 3]
    assert resumed[:2] == records


def test_ctrl_c_saves_the_finished_epochs(tmp_path):
    """SIGINT during training: the network and the finished epochs are saved,
    exit status 130."""
    import signal
    env = fastnn_env(FASTNN_DATA=require_mnist())
    child = subprocess.Popen([sys.executable, "-m", "fastnn.cli", "train", "--epochs", "1000",
                              "--train-size", "20000", "--out", str(tmp_path)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.startswith("epoch 2 ("):
            child.send_signal(signal.SIGINT)
            break
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    from fastnn import MLP, history
    records = history.load(str(tmp_path / "history.json"))
    assert 2 <= len(records) < 1000 and [r["epoch"] for r in records] == list(range(len(records)))
    assert MLP.load(str(tmp_path / "network.json")).sizes == [784, 30, 10]


def test_ctrl_c_in_a_preset_run_saves_like_the_dense_path(tmp_path):
    """SIGINT during a chapter 6 run: network.npz, the finished epochs'
    history and the settings are saved, exit status 130; --resume goes on."""
    import signal
    env = fastnn_env(FASTNN_DATA=require_mnist())
    child = subprocess.Popen([sys.executable, "-m", "fastnn.cli", "train", "--preset", "one-conv",
                              "--epochs", "1000", "--train-size", "100", "--out", str(tmp_path)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in child.stdout:
        if line.startswith("Epoch 1:"):
            child.send_signal(signal.SIGINT)
            break
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "interrupted: saving" in err and "Traceback" not in err
    from fastnn import history
    records = history.load(str(tmp_path / "history.json"))
    finished = len(records["validation_accuracy"])
    assert 2 <= finished < 1000 and records["best_iteration"] is not None
    with np.load(tmp_path / "network.npz") as saved:
        assert saved["w0"].shape == (20, 1, 5, 5) and np.all(np.isfinite(saved["w0"]))
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert settings["preset"] == "one-conv" and settings["epochs"] == 1000
    # the recorded preset and train size are used; --epochs 1 is one more
    out = fastnn("train", "--epochs", 1, "--out", tmp_path, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    resumed = history.load(str(tmp_path / "history.json"))
    assert len(resumed["validation_accuracy"]) == finished + 1


def test_resume_uses_the_recorded_settings(tmp_path):
    """--resume trains with the first run's settings (here L2 with lmbda 5),
    a flag given at resume replaces one and says so, and what makes the
    network what it is cannot be changed."""
    from fastnn import MLP, datasets, history
    out = fastnn("train", "--sizes", "784,20,10", "--epochs", 2, "--train-size", 1000,
                 "--eta", 0.5, "--lmbda", 5, "--out", tmp_path, "--quiet")
    assert out.returncode == 0, out.stderr
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert (settings["lmbda"], settings["eta"], settings["epochs"], settings["train_size"]) == \
        (5.0, 0.5, 2, 1000)
    # the run is complete: --resume alone has nothing left to do
    assert_one_line_error(fastnn("train", "--out", tmp_path, "--resume"), "finished its 2 epochs",
                          "--epochs")
    out = fastnn("train", "--epochs", 1, "--out", tmp_path, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "replaces" not in out.stderr
    records = history.load(str(tmp_path / "history.json"))
    assert [r["epoch"] for r in records] == [0, 1, 2] and records[2]["eta"] == 0.5
    # the validation cost of the resumed epoch carries the L2 term of lmbda 5
    net = MLP.load(str(tmp_path / "network.json"))
    _, (X_val, y_val), _ = datasets.load_mnist(require_mnist())
    assert records[2]["val_cost"] == pytest.approx(net.cost_of(X_val, y_val, l2=5.0), rel=1e-9)
    assert records[2]["val_cost"] != pytest.approx(net.cost_of(X_val, y_val), rel=1e-3)
    out = fastnn("train", "--epochs", 1, "--eta", 0.1, "--out", tmp_path, "--resume", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "--eta 0.1 replaces the recorded 0.5" in out.stderr
    assert history.load(str(tmp_path / "history.json"))[3]["eta"] == 0.1
    assert json.loads((tmp_path / "settings.json").read_text())["eta"] == 0.1
    assert_one_line_error(fastnn("train", "--epochs", 1, "--sizes", "784,30,10", "--out", tmp_path,
                                 "--resume"), "--sizes cannot change it")


def test_train_from_config_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    np.savez(tmp_path / "data.npz", X=X, y=y, X_val=X[:50], y_val=y[:50])
    config = tmp_path / "run.toml"
    config.write_text('dataset = "{}"\nepochs = 3\nbatch_size = 5\neta = 1\nsizes = [4, 8, 3]\n'
                      'l1 = 0.01\nout = "{}"\n'.format(tmp_path / "data.npz", tmp_path / "out"))
    out = fastnn("train", "--config", config, "--epochs", 4, "--quiet")   # the flag wins
    assert out.returncode == 0, out.stderr
    records = json.loads((tmp_path / "out" / "history.json").read_text())
    assert len(records) == 4 and records[-1]["val_accuracy"] > 0.6
    saved = json.loads((tmp_path / "out" / "network.json").read_text())
    assert saved["sizes"] == [4, 8, 3]


def test_train_leaky_relu_with_a_slope(tmp_path):
    """--activation takes every hidden activation of the registry, and
    --activation-params (or the config's activation_params) its parameters,
    which network.json records."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] > 0).astype(int)
    np.savez(tmp_path / "data.npz", X=X, y=y, X_val=X[:50], y_val=y[:50])
    out = fastnn("train", "--dataset", tmp_path / "data.npz", "--sizes", "4,6,2", "--epochs", 1,
                 "--activation", "leaky_relu", "--activation-params", "slope=0.2",
                 "--out", tmp_path / "flag", "--quiet")
    assert out.returncode == 0, out.stderr
    saved = json.loads((tmp_path / "flag" / "network.json").read_text())
    assert (saved["activation"], saved["activation_params"]) == ("leaky_relu", {"slope": 0.2})
    config = tmp_path / "run.toml"
    config.write_text('activation = "leaky_relu"\nactivation_params = "slope=0.3"\n')
    out = fastnn("train", "--config", config, "--dataset", tmp_path / "data.npz", "--sizes", "4,6,2",
                 "--epochs", 1, "--out", tmp_path / "config", "--quiet")
    assert out.returncode == 0, out.stderr
    saved = json.loads((tmp_path / "config" / "network.json").read_text())
    assert saved["activation_params"] == {"slope": 0.3}
    assert_one_line_error(fastnn("train", "--dataset", tmp_path / "data.npz", "--activation",
                                 "leaky_relu", "--activation-params", "slope=-1", "--out",
                                 tmp_path / "bad"), "slope must be >= 0")
    assert_one_line_error(fastnn("train", "--activation-params", "slope", "--out", tmp_path / "bad"),
                          "NAME=NUMBER")


def test_train_npz_with_string_labels_and_refusals(tmp_path):
    """String labels train, numbered in sorted order; complex X, an empty X
    and NaN labels are refused in one line before any training, and a
    failed run leaves no --out folder behind."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = np.array(["eel", "cat", "dog"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    np.savez(tmp_path / "words.npz", X=X, y=y, X_val=X[:20], y_val=y[:20])
    out = fastnn("train", "--dataset", tmp_path / "words.npz", "--epochs", 3, "--batch-size", 5,
                 "--eta", 1, "--out", tmp_path / "words", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "labels cat, dog, eel numbered 0..2" in out.stdout
    from fastnn import MLP
    assert MLP.load(str(tmp_path / "words" / "network.json")).sizes == [4, 30, 3]
    for name, arrays, words in (("complex", dict(X=X + 1j, y=y), "complex"),
                                ("empty", dict(X=X[:0], y=y[:0]), "not empty"),
                                ("nan", dict(X=X, y=np.where(X[:, 0] > 1, np.nan, 1.0)), "NaN")):
        np.savez(tmp_path / (name + ".npz"), **arrays)
        result = fastnn("train", "--dataset", tmp_path / (name + ".npz"), "--out", tmp_path / name)
        assert_one_line_error(result, "--dataset", words)
        assert not (tmp_path / name).exists()


def test_train_chapter6_preset(tmp_path):
    out = fastnn("train", "--preset", "one-conv", "--epochs", 1, "--train-size", 200,
                 "--out", tmp_path, "--quiet")
    assert out.returncode == 0, out.stderr
    from fastnn import history
    records = history.load(str(tmp_path / "history.json"))
    assert len(records["validation_accuracy"]) == 1 and records["best_iteration"] == 19
    assert "test accuracy {:.2%} at the best validation accuracy".format(
        records["test_accuracy_at_best"]) in out.stdout
    with np.load(tmp_path / "network.npz") as saved:
        assert saved["w0"].shape == (20, 1, 5, 5)
        w0 = saved["w0"]
    # the folder is what network3.load reads: the preset's layers, the trained weights
    from fastnn import network3
    net = network3.load(tmp_path)
    assert [type(layer).__name__ for layer in net.layers] == [
        "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer"]
    assert net.mini_batch_size == 10 and net.dtype == np.float32
    np.testing.assert_array_equal(net.layers[0].w, w0)


def test_plot_compares_histories(tmp_path):
    from fastnn import history
    a = [{"epoch": j, "val_accuracy": 0.8 + 0.01*j, "val_cost": 1.0 - 0.05*j} for j in range(10)]
    b = ([], [], [0.9 - 0.04*j for j in range(10)], [])        # network2's four lists
    history.save(a, str(tmp_path / "a.json"))
    history.save(b, str(tmp_path / "b.csv"))
    out = fastnn("plot", tmp_path / "a.json", tmp_path / "b.csv", "--out", tmp_path / "ab.png",
                 "--title", "two runs")
    assert out.returncode == 0, out.stderr
    assert_png(str(tmp_path / "ab.png"), CURVES)


def test_bench_prints_the_table():
    out = fastnn("bench", "--train-size", 500, "--repeat", 1)
    assert out.returncode == 0, out.stderr
    rows = [l for l in out.stdout.splitlines() if l.startswith("| [784")]
    assert len(rows) == 4 and all(l.rstrip().endswith("%) |") and "x |" in l for l in rows)
    assert "500 images per run are too few" in out.stdout


# -- mistakes: one line, exit status 2 ------------------------------------------------

def test_unknown_option():
    assert_one_line_error(fastnn("train", "--bogus"), "fastnn train", "--bogus")


def test_bad_option_value():
    assert_one_line_error(fastnn("train", "--sizes", "784,x"), "--sizes", "784,30,10")
    assert_one_line_error(fastnn("train", "--epochs", "0"), "--epochs", "positive")
    assert_one_line_error(fastnn("figures", "nonsense"), "unknown figure", "overfitting")


def test_missing_mnist(tmp_path):
    out = fastnn("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert_one_line_error(out, "MNIST", "--data DIR")
    out = fastnn("demo", "--data", tmp_path / "nowhere")
    assert_one_line_error(out, "fastnn demo", "MNIST")


def test_missing_files(tmp_path):
    assert_one_line_error(fastnn("plot", tmp_path / "none.json"), "does not exist")
    assert_one_line_error(fastnn("train", "--dataset", tmp_path / "none.npz", "--out", tmp_path),
                          "no such file")
    assert_one_line_error(fastnn("train", "--config", tmp_path / "none.toml"), "does not exist")
    assert_one_line_error(fastnn("train", "--resume", "--out", tmp_path), "--resume")
    np.savez(tmp_path / "bad.npz", Z=np.zeros(3))
    assert_one_line_error(fastnn("train", "--dataset", tmp_path / "bad.npz", "--out", tmp_path),
                          "lacks", "X")
    assert_one_line_error(fastnn("figures", "--check", tmp_path / "nope", "--out", tmp_path),
                          "--check")


def test_config_with_a_wrong_type(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('epochs = "30"\n')
    assert_one_line_error(fastnn("train", "--config", config), "epochs", "integer", "str")
    config.write_text('learning_rate_typo = 0.1\n')
    assert_one_line_error(fastnn("train", "--config", config), "unknown option")
    config.write_text('activation = "softplus"\n')
    assert_one_line_error(fastnn("train", "--config", config), "activation", "sigmoid")
    config.write_text('epochs = \n')
    assert_one_line_error(fastnn("train", "--config", config), "not valid TOML")


def test_output_folder_not_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = fastnn("train", "--out", blocker / "run")
    assert_one_line_error(out, "output folder", "--out")
    out = fastnn("figures", "overfitting", "--quick", "--out", blocker / "figs")
    assert_one_line_error(out, "output folder")
    if os.geteuid() != 0:             # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert_one_line_error(fastnn("train", "--out", locked), "cannot write")


def test_plot_without_matplotlib_says_how_to_install(tmp_path):
    """With matplotlib unimportable, ``--plot`` fails at once naming the extra."""
    blocker = tmp_path / "block"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('blocked for a test')\n")
    data = find_mnist()
    env = fastnn_env(**({"FASTNN_DATA": data} if data else {}))
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env["PYTHONPATH"]])
    out = subprocess.run([sys.executable, "-m", "fastnn.cli", "train", "--plot", "--out",
                          str(tmp_path / "o")], env=env, capture_output=True, text=True, timeout=120)
    assert_one_line_error(out, "pip install 'fastnn[plot]'")


def test_demo_epochs_and_plot_folder_mistakes(tmp_path):
    for epochs in ("-1", "0"):
        assert_one_line_error(fastnn("demo", "--epochs", epochs), "--epochs", "positive integer")
    from fastnn import history
    history.save([{"epoch": 0, "val_accuracy": 0.5}], str(tmp_path / "h.json"))
    missing = tmp_path / "missing" / "dir" / "x.png"
    assert_one_line_error(fastnn("plot", tmp_path / "h.json", "--out", missing), "does not exist")
    assert not (tmp_path / "missing").exists()


def test_resume_goes_on_exactly_with_the_optimizers_state(tmp_path):
    """fastnn train for 2 epochs with Adam, then --resume for 2 more, ends
    with the weights of one 4-epoch run bit for bit: the optimizer's state,
    the epoch count and the shuffling generator are saved with the network."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    np.savez(tmp_path / "data.npz", X=X, y=y, X_val=X[:50], y_val=y[:50])
    common = ("--dataset", tmp_path / "data.npz", "--sizes", "4,8,2", "--optimizer", "adam",
              "--batch-size", 16, "--quiet")
    assert fastnn("train", *common, "--epochs", 4, "--out", tmp_path / "whole").returncode == 0
    out = fastnn("train", *common, "--epochs", 2, "--out", tmp_path / "parts")
    assert out.returncode == 0, out.stderr
    out = fastnn("train", "--resume", "--epochs", 2, "--quiet", "--out", tmp_path / "parts")
    assert out.returncode == 0, out.stderr
    whole = json.loads((tmp_path / "whole" / "network.json").read_text())
    parts = json.loads((tmp_path / "parts" / "network.json").read_text())
    assert parts["weights"] == whole["weights"] and parts["biases"] == whole["biases"]
    assert parts["training"]["epochs"] == 4 and parts["training"]["state"]["t"] == 4 * 19
    history = json.loads((tmp_path / "parts" / "history.json").read_text())
    records = history if isinstance(history, list) else history.get("records", history)
    assert [r["epoch"] for r in records] == [0, 1, 2, 3]


def test_main_called_from_python_puts_the_warning_format_back(capsys, monkeypatch):
    """main() shows warnings as one line naming the command while it runs, and
    leaves a calling program's warnings as it found them, however it ends."""
    import warnings
    from fastnn import cli
    before = warnings.formatwarning
    seen = []

    def run(args):
        seen.append(warnings.formatwarning("careful", UserWarning, "x.py", 1))
        raise RuntimeError("boom")

    assert cli.main(["demo", "--epochs", "-1"], prog="fastnn") == 2      # a usage error
    assert warnings.formatwarning is before
    monkeypatch.setattr(cli, "run_bench", run)
    with pytest.raises(RuntimeError, match="boom"):                     # an unexpected error
        cli.main(["bench"], prog="fastnn")
    assert seen == ["fastnn bench: warning: careful\n"]
    assert warnings.formatwarning is before
    capsys.readouterr()


def test_a_resumed_network3_history_counts_iterations_from_the_first_run():
    """network3's SGD counts iterations from 0 in each call; the merged history
    of a resumed preset run gives the best epoch's iteration from the start."""
    from fastnn.cli import merge_network3
    first = dict(validation_accuracy=[0.5, 0.6], test_accuracy=[0.5, 0.6], training_cost=[1.0, 0.9],
                 eta=[0.1, 0.1], best_validation_accuracy=0.6, best_iteration=2*20 - 1,
                 test_accuracy_at_best=0.6)
    better = dict(validation_accuracy=[0.55, 0.7], test_accuracy=[None, 0.7],
                  training_cost=[0.8, 0.7], eta=[0.1, 0.1], best_validation_accuracy=0.7,
                  best_iteration=2*20 - 1, test_accuracy_at_best=0.7)
    merged = merge_network3(first, better, 20)
    assert merged["best_iteration"] == 4*20 - 1 and merged["test_accuracy_at_best"] == 0.7
    assert merged["validation_accuracy"] == [0.5, 0.6, 0.55, 0.7]
    worse = dict(better, best_validation_accuracy=0.59, test_accuracy_at_best=0.59)
    merged = merge_network3(first, worse, 20)
    assert merged["best_iteration"] == 2*20 - 1 and merged["test_accuracy_at_best"] == 0.6
