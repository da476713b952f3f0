"""The ``fastnn`` command.

    fastnn demo                         the book's chapter 1 network, timed (``fastnn-demo``)
    fastnn train --sizes 784,30,10 --epochs 30 --eta 0.5 --lmbda 5 --out run1 --plot
    fastnn train --preset relu --epochs 5 --out relu
    fastnn plot run1/history.json run2/history.json --out compare.png
    fastnn figures --out figs --check ../shared/data/book-figures
    fastnn bench

Each subcommand has ``--help``.  Mistakes a user can fix (a missing file, a
bad option value, no MNIST) print one line saying what to do and exit with
status 2; ``FASTNN_DEBUG=1`` shows the traceback instead.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

from . import activations

EXIT_USAGE = 2


class UserError(Exception):
    """A mistake the user can fix: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (not usage + error) naming ``--help``."""

    def error(self, message):
        raise UserError("{} (see {} --help)".format(message, self.prog))


# -- options -------------------------------------------------------------------------

def int_list(text):
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers like 784,30,10, "
                                         "not {!r}".format(text)) from None
    if len(values) < 2 or min(values) < 1:
        raise argparse.ArgumentTypeError("expected at least two positive layer sizes like "
                                         "784,30,10, not {!r}".format(text))
    return values


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, not {!r}".format(text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, not {}".format(value))
    return value


def param_list(text):
    """``slope=0.2,alpha=1`` as a dict of floats (empty text: no parameters)."""
    params = {}
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            if not (sep and name):
                raise ValueError
            params[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError("expected NAME=NUMBER pairs separated by commas, like "
                                             "slope=0.2, not {!r}".format(text)) from None
    return params


def nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, not {!r}".format(text)) from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("expected a non-negative number, not {}".format(text))
    return value


def add_progress(parser):
    parser.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                        help="progress bars on stderr: auto (when it is a terminal, the default), "
                             "always, never")


def add_data_dir(parser):
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="folder holding the MNIST files (default: $FASTNN_DATA, else the "
                             "per-user cache, downloading them once)")


def version_line(version):
    """``fastnn --version``: the version, and the kernels' variant in use here."""
    from ._core import kernel_variant
    simd, openmp = kernel_variant()
    return "fastnn {} (kernels: {}, {})".format(
        version, simd, "OpenMP threads" if openmp else "one thread: built without OpenMP")


def build_parser(prog="fastnn"):
    from . import __version__
    parser = Parser(prog=prog, description="fastnn: the networks of Nielsen's 'Neural Networks "
                    "and Deep Learning' on compiled kernels.",
                    epilog="Run 'fastnn COMMAND --help' for each command's options.")
    parser.add_argument("--version", action="version", version=version_line(__version__))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    demo = sub.add_parser("demo", help="train the book's chapter 1 network and time it (fastnn-demo)",
                          description="Train the book's chapter 1 network [784, 30, 10] on MNIST "
                          "(quadratic cost, mini-batch 10, eta 3.0), print each epoch, then time the "
                          "numpy reference path against the compiled kernels.")
    add_demo_arguments(demo)
    demo.set_defaults(run=run_demo)

    train = sub.add_parser("train", help="train a dense network or a chapter 6 network",
                           description=TRAIN_DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    plot = sub.add_parser("plot", help="draw training histories into one PNG",
                          description="Draw one PNG comparing training runs: accuracy and cost "
                          "against epochs, one colour per history file.")
    plot.add_argument("histories", nargs="+", metavar="HISTORY",
                      help="history files (.json or .csv) written by fastnn train or "
                           "fastnn.history.save")
    plot.add_argument("--out", default="curves.png", help="the PNG to write (default curves.png)")
    plot.add_argument("--labels", default=None,
                      help="comma-separated labels, one per history (default: from the file names)")
    plot.add_argument("--title", default=None)
    plot.set_defaults(run=run_plot)

    figures = sub.add_parser("figures", help="regenerate the book's chapter 3 and 5 figures",
                             description=FIGURES_DESCRIPTION,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    figures.add_argument("names", nargs="*", metavar="NAME",
                         help="figures to make (default: all); also the groups weight_initialization, "
                              "training_speed, chapter3, chapter5")
    figures.add_argument("--out", default="figures", help="folder to write into (default ./figures)")
    figures.add_argument("--check", metavar="DIR", default=None,
                         help="compare with the book's published JSON files in DIR")
    figures.add_argument("--quick", action="store_true",
                         help="cut the epochs (a tenth or less): a pass in about a minute")
    figures.add_argument("--no-plot", dest="plot", action="store_false", help="JSON only, no PNGs")
    figures.add_argument("--jobs", "-j", type=positive_int, default=1,
                         help="figures made at once, in worker processes (default 1; the "
                              "numbers do not depend on it)")
    figures.add_argument("--backend", choices=["cython", "numpy"], default=None)
    add_data_dir(figures)
    add_progress(figures)
    figures.set_defaults(run=run_figures)

    bench = sub.add_parser("bench", help="a quick speedup table on this machine",
                           description="Time one epoch of the compiled kernels and of the numpy "
                           "reference path (on a subset of MNIST, scaled to 50,000 images), and "
                           "the compiled kernels with a progress bar drawing, for the networks of "
                           "the README's table.")
    bench.add_argument("--train-size", type=positive_int, default=5000,
                       help="images timed per run (default 5000; the time is scaled to 50,000)")
    bench.add_argument("--repeat", type=positive_int, default=3, help="runs per row; the best counts")
    add_data_dir(bench)
    bench.set_defaults(run=run_bench)
    return parser


# -- demo -------------------------------------------------------------------------

def add_demo_arguments(parser):
    """The demo's options (``fastnn demo``, ``fastnn-demo``)."""
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--data", default=None,
                        help="folder holding the MNIST files (default: $FASTNN_DATA, else the "
                             "per-user cache, downloading them if needed)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--seed", type=int, default=0)


def run_demo(args):
    """Train the book's chapter 1 network [784, 30, 10] (sigmoid neurons,
    quadratic cost, mini-batch 10, eta 3.0, as in the book's first run),
    printing each epoch's test accuracy and seconds, then time one epoch of
    the numpy reference path on the same network and say how much faster the
    compiled kernels were."""
    from . import MLP
    from .datasets import load_mnist
    (X, y), _, (X_test, y_test) = load_mnist(args.data)
    X = np.ascontiguousarray(X, dtype=args.dtype)
    X_test = np.ascontiguousarray(X_test, dtype=args.dtype)
    print("Training the book's chapter 1 network [784, 30, 10] on {} MNIST images "
          "({}, mini-batch 10, eta 3.0)".format(len(X), args.dtype))

    def report(entry):
        print("Epoch {}: {} / {}  ({:.2f} s)".format(
            entry["epoch"], int(round(entry["val_accuracy"] * len(X_test))), len(X_test),
            entry["seconds"]), flush=True)

    net = MLP([784, 30, 10], cost="quadratic", init="large", dtype=args.dtype,
              backend="cython", seed=args.seed)
    history = net.fit(X, y, epochs=args.epochs, batch_size=10, learning_rate=3.0,
                      validation_data=(X_test, y_test), on_epoch=report)
    if not history:
        return
    compiled = float(np.median([h["seconds"] for h in history]))
    from ._best import best_index
    best = history[best_index([h["val_accuracy"] for h in history])]
    print("Best: {:.2%} at epoch {}; compiled kernels: {:.3f} s per epoch (median)".format(
        best["val_accuracy"], best["epoch"], compiled))

    reference = MLP([784, 30, 10], cost="quadratic", init="large", dtype=args.dtype,
                    backend="numpy", seed=args.seed)
    start = time.perf_counter()
    reference.fit(X, y, epochs=1, batch_size=10, learning_rate=3.0)
    numpy_seconds = time.perf_counter() - start
    print("numpy reference path: {:.3f} s for one epoch; the compiled kernels were "
          "{:.1f}x faster".format(numpy_seconds, numpy_seconds / compiled))


def demo_parser():
    parser = Parser(prog="fastnn-demo", description="``fastnn-demo`` (or ``python -m fastnn``): "
                    "train the book's chapter 1 network on MNIST.")
    add_demo_arguments(parser)
    parser.set_defaults(run=run_demo)
    return parser


# -- train ------------------------------------------------------------------------

TRAIN_DESCRIPTION = """\
Train a network on MNIST (--dataset mnist, the default), the 250,000-image
expanded set (--dataset expanded) or arrays of your own (--dataset FILE.npz
holding X, y and optionally X_val, y_val).  A dense network by default
(fastnn.MLP: --sizes and every option of MLP.fit), or one of the book's
chapter 6 networks with --preset (one-conv, two-conv, relu, expanded,
extra-fc, dropout: the book's hyper-parameters unless given).

Options may also come from a TOML file (--config run.toml) whose keys are the
long option names (epochs = 30, batch_size = 10, sizes = [784, 30, 10], ...);
flags on the command line win.  Writes into --out DIR: network.json (or
network.npz for a preset), history.json and history.csv, settings.json (every
option of the run), and with --plot curves.png.  --resume continues from the
network and history in DIR with the options recorded in settings.json, up to
the epochs the run was started for (--epochs N: N more); options given with
--resume replace the recorded ones, and each that differs is announced."""

#: The options a TOML config may set, and the type each value must have.
CONFIG_TYPES = {
    "sizes": list, "preset": str, "dataset": str, "data": str, "train_size": int,
    "epochs": int, "batch_size": int, "eta": float, "lmbda": float, "l1": float,
    "momentum": float, "optimizer": str, "nesterov": bool, "weight_decay": float,
    "activation": str, "activation_params": str, "output": str, "cost": str,
    "init": str, "dtype": str, "backend": str, "seed": int, "early_stopping": int,
    "halve_on_plateau": int, "restore_best": bool, "monitor_training": bool,
    "monitor_gradients": bool, "shuffle": bool, "plot": bool, "out": str, "progress": str,
    "quiet": bool,
}


def add_train_arguments(p):
    p.add_argument("--config", metavar="FILE.toml", default=None,
                   help="read options from a TOML file (flags given here win)")
    what = p.add_argument_group("network and data")
    what.add_argument("--sizes", type=int_list, default=None,
                      help="layer sizes of a dense network, input first (default: inputs,30,classes)")
    what.add_argument("--preset", default=None,
                      choices=["one-conv", "two-conv", "relu", "expanded", "extra-fc", "dropout"],
                      help="one of the book's chapter 6 networks (fastnn.network3)")
    what.add_argument("--dataset", default="mnist",
                      help="mnist (default), expanded, or a .npz file with X, y[, X_val, y_val]")
    add_data_dir(what)
    what.add_argument("--train-size", type=positive_int, default=None,
                      help="train on the first N training examples only")
    how = p.add_argument_group("training (the arguments of MLP.fit / network3's SGD)")
    how.add_argument("--epochs", type=positive_int, default=None,
                     help="epochs (default 30; a preset's: the book's)")
    how.add_argument("--batch-size", type=positive_int, default=10, help="mini-batch size (default 10)")
    how.add_argument("--eta", "--learning-rate", dest="eta", type=nonnegative_float, default=None,
                     help="learning rate, the step size of every optimizer (default: 0.5 for "
                          "sgd, 0.001 for adam and adamw; a preset's: the book's)")
    how.add_argument("--lmbda", "--l2", dest="lmbda", type=nonnegative_float, default=None,
                     help="L2 regularization lambda (default 0; a preset's: the book's)")
    how.add_argument("--l1", type=nonnegative_float, default=0.0, help="L1 regularization")
    how.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw"],
                     help="sgd (the book's, default), adam or adamw (fastnn.SGD/Adam/AdamW)")
    how.add_argument("--momentum", type=nonnegative_float, default=0.0,
                     help="momentum mu in [0, 1), with --optimizer sgd")
    how.add_argument("--nesterov", action="store_true", default=False,
                     help="Nesterov's momentum, with --optimizer sgd and --momentum")
    how.add_argument("--weight-decay", type=nonnegative_float, default=None,
                     help="adamw's decoupled weight decay (default 0.01)")
    how.add_argument("--activation", default="sigmoid", choices=activations.HIDDEN,
                     help="the hidden neurons (fastnn.activations; default sigmoid)")
    how.add_argument("--activation-params", type=param_list, default={}, metavar="NAME=VALUE,...",
                     help="the activation's parameters, like slope=0.2 for leaky_relu "
                          "(default: its defaults)")
    how.add_argument("--output", default="sigmoid", choices=["sigmoid", "softmax"])
    how.add_argument("--cost", default=None, choices=["cross_entropy", "quadratic", "log_likelihood"],
                     help="default cross_entropy (log_likelihood with --output softmax)")
    how.add_argument("--init", default="default", choices=["default", "large", "he"])
    how.add_argument("--dtype", default=None, choices=["float64", "float32"],
                     help="default float64 (a preset's: float32)")
    how.add_argument("--backend", default=None, choices=["cython", "numpy"])
    how.add_argument("--seed", type=int, default=0)
    how.add_argument("--early-stopping", type=positive_int, default=None, metavar="K",
                     help="stop after K epochs without a better validation accuracy")
    how.add_argument("--no-restore-best", dest="restore_best", action="store_false", default=True,
                     help="with --early-stopping, keep the last weights, not the best epoch's")
    how.add_argument("--halve-on-plateau", type=positive_int, default=None, metavar="PATIENCE",
                     help="halve eta after PATIENCE epochs without a better validation accuracy")
    how.add_argument("--monitor-training", action="store_true", default=False,
                     help="also record cost and accuracy on the training data")
    how.add_argument("--monitor-gradients", action="store_true", default=False,
                     help="record each hidden layer's gradient norm (chapter 5)")
    how.add_argument("--no-shuffle", dest="shuffle", action="store_false", default=True)
    out = p.add_argument_group("output")
    out.add_argument("--out", default="run", metavar="DIR", help="folder to write into (default ./run)")
    out.add_argument("--plot", action="store_true", default=False,
                     help="draw curves.png (needs matplotlib: pip install 'fastnn[plot]')")
    out.add_argument("--resume", action="store_true", default=False,
                     help="continue from the network and history saved in --out")
    out.add_argument("--quiet", action="store_true", default=False, help="no per-epoch lines")
    add_progress(out)


def read_config(path, parser):
    """The options in the TOML file ``path``, checked against CONFIG_TYPES,
    as parser defaults."""
    try:
        import tomllib
    except ImportError:       # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except FileNotFoundError:
        raise UserError("config file {} does not exist".format(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError("config file {} is not valid TOML: {}".format(path, exc)) from None
    except RecursionError:
        raise UserError("config file {} nests its values too deeply to be a config".format(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError("config file {} cannot be read: {}".format(path, exc)) from None
    defaults = {}
    for key, value in config.items():
        name = key.replace("-", "_")
        if name not in CONFIG_TYPES:
            raise UserError("config file {}: unknown option {!r}; the options are those of "
                            "'fastnn train --help' (like epochs, batch_size, eta)".format(path, key))
        want = CONFIG_TYPES[name]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            raise UserError("config file {}: {} must be {}, not {} {!r}".format(
                path, key, {int: "an integer", float: "a number", str: "a string", bool: "true or false",
                            list: "a list of integers"}[want], type(value).__name__, value))
        if name == "sizes":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise UserError("config file {}: sizes must be a list of integers".format(path))
            try:
                value = int_list(",".join(str(v) for v in value))
            except argparse.ArgumentTypeError as exc:
                raise UserError("config file {}: sizes: {}".format(path, exc)) from None
        for action in parser._actions:       # the same checks as the flags
            if action.dest == name and action.type is not None and not isinstance(value, (list, bool)):
                try:
                    action.type(str(value))
                except argparse.ArgumentTypeError as exc:
                    raise UserError("config file {}: {}: {}".format(path, key, exc)) from None
            if action.dest == name and action.choices and value not in action.choices:
                raise UserError("config file {}: {} must be one of {}, not {!r}".format(
                    path, key, ", ".join(action.choices), value))
        defaults[name] = value
    return defaults


def given_options(parser, argv):
    """The names (``dest``) of the ``train`` options that ``argv`` gives,
    as opposed to those left at their defaults: argv parsed once more with
    every default replaced by a marker."""
    sub = parser._subparsers._group_actions[0].choices["train"]
    marker = object()
    saved = [(action, action.default) for action in sub._actions]
    try:
        for action, _ in saved:
            action.default = marker
        parsed = vars(parser.parse_args(argv))
    finally:
        for action, default in saved:
            action.default = default
    return {name for name, value in parsed.items() if value is not marker and name in CONFIG_TYPES}


#: The file in --out that records a run's settings, for --resume.
SETTINGS_FILE = "settings.json"

#: Settings that make the saved network what it is: --resume cannot change them.
ARCHITECTURE = ("sizes", "preset", "activation", "activation_params", "output", "cost", "init")


def save_settings(args, epochs_planned):
    """Record every option of the run (those of CONFIG_TYPES but --out) in
    ``settings.json`` beside the network; ``epochs`` is the number of epochs
    the run is to reach in all, counting those of the runs it resumed."""
    import json
    from ._files import atomic_write
    settings = {name: getattr(args, name) for name in CONFIG_TYPES if name != "out"}
    settings["epochs"] = epochs_planned
    # as a config file writes them: NAME=VALUE pairs
    settings["activation_params"] = ",".join(
        "{}={!r}".format(k, v) for k, v in sorted((args.activation_params or {}).items()))
    with atomic_write(os.path.join(args.out, SETTINGS_FILE), "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)
        f.write("\n")


def read_settings(args):
    """The settings recorded in --out, checked as a config file is, or None
    for a folder written before settings were recorded."""
    import json
    path = os.path.join(args.out, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 20)
        settings = json.loads(text)
    except (OSError, ValueError, RecursionError) as exc:
        raise UserError("--resume: {} is not readable JSON ({}); fix or delete it".format(
            path, type(exc).__name__)) from None
    if not isinstance(settings, dict):
        raise UserError("--resume: {} does not hold a JSON object of settings".format(path))
    for name, value in settings.items():
        want = CONFIG_TYPES.get(name)
        ok = want is not None and name != "out" and (value is None or (
            isinstance(value, want) and not (want is int and isinstance(value, bool))) or (
            want is float and isinstance(value, int) and not isinstance(value, bool)))
        if ok and name == "sizes" and value is not None:
            ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        if not ok:
            raise UserError("--resume: {}: the setting {!r} = {!r} is not one fastnn train "
                            "writes; fix or delete the file".format(path, name, value))
    return settings


def resume_settings(args, finished):
    """Take the recorded settings of the run in --out for every option not
    given now; say which given ones differ from the record.  ``finished``
    is the number of epochs in its history.  With no --epochs the run goes
    on to the number of epochs it was started for."""
    settings = read_settings(args)
    if settings is None:
        return
    given = getattr(args, "given", set())
    for name, recorded in sorted(settings.items()):
        if name == "epochs":
            continue
        if name == "activation_params" and recorded is not None:
            try:
                recorded = param_list(recorded)
            except argparse.ArgumentTypeError as exc:
                raise UserError("--resume: {}: activation_params: {}".format(
                    os.path.join(args.out, SETTINGS_FILE), exc)) from None
        if name not in given:
            setattr(args, name, recorded)
            continue
        now = getattr(args, name)
        if now != recorded and not (isinstance(now, float) and isinstance(recorded, (int, float))
                                    and float(recorded) == now):
            if name in ARCHITECTURE:
                raise UserError("--resume continues the network saved in {}, whose {} is {!r}: "
                                "--{} cannot change it".format(args.out, name, recorded,
                                                               name.replace("_", "-")))
            print("resume: --{} {} replaces the recorded {}".format(
                name.replace("_", "-"), now, recorded), file=sys.stderr, flush=True)
    if "epochs" not in given and isinstance(settings.get("epochs"), int):
        left = settings["epochs"] - finished
        if left < 1:
            raise UserError("--resume: the run in {} has finished its {} epochs; give --epochs N "
                            "to train N more".format(args.out, settings["epochs"]))
        args.epochs = left


def check_out_dir(path):
    """Create ``path`` if needed and make sure files can be written there."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UserError("cannot create the output folder {}: {}; choose another with --out".format(
            path, exc.strerror or exc)) from None
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise UserError("cannot write into the output folder {}; choose another with --out".format(path))


def load_training_data(args, need_validation):
    """``(X, y, X_val, y_val, X_test, y_test)`` from --dataset (the test pair and
    the validation pair may be None for a .npz)."""
    if args.dataset in ("mnist", "expanded"):
        from . import datasets
        (X, y), (X_val, y_val), (X_test, y_test) = datasets.load_mnist(args.data)
        if args.dataset == "expanded":
            from . import expand
            X, y = expand.load_expanded(args.data)
    else:
        X, y, X_val, y_val = read_npz(args.dataset)
        X_test = y_test = None
    if need_validation and X_val is None:
        raise UserError("this run watches the validation accuracy: the .npz needs X_val and y_val")
    if args.train_size is not None:
        X, y = X[:args.train_size], y[:args.train_size]
    return X, y, X_val, y_val, X_test, y_test


def read_npz(path):
    """``(X, y, X_val, y_val)`` from a .npz file, each checked: numbers, the
    shapes a training set has, labels that are whole numbers >= 0 or strings
    (numbered in sorted order).  Each array's header is read before the
    array, so one declaring more than the file holds is refused unread."""
    import zipfile
    if not path.endswith(".npz"):
        raise UserError("--dataset must be mnist, expanded or a .npz file, not {!r}".format(path))
    if not os.path.isfile(path):
        raise UserError("--dataset {}: no such file".format(path))

    def bad(problem):
        return UserError("--dataset {}: {}".format(path, problem))
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                              np.lib.format.read_array_header_2_0)
                    shape, _, dtype = header(f)
                if dtype.hasobject:
                    raise bad("{} holds Python objects; save arrays of numbers (or of strings, for "
                              "labels)".format(info.filename))
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise bad("{} declares shape {} of {}, more than the file holds".format(
                        info.filename, shape, dtype))
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in ("X", "y") if k not in arrays.files]
            if missing:
                raise bad("lacks the array(s) {}; it needs X (n, features) and y (labels), "
                          "optionally X_val and y_val".format(", ".join(missing)))
            X, y = arrays["X"], arrays["y"]
            X_val = arrays["X_val"] if "X_val" in arrays.files else None
            y_val = arrays["y_val"] if "y_val" in arrays.files else None
    except UserError:
        raise
    except Exception as exc:          # BadZipFile, EOFError, a bad header: all one answer
        raise bad("not a readable .npz file ({}: {})".format(type(exc).__name__, exc)) from None
    if (X_val is None) != (y_val is None):
        raise bad("give both X_val and y_val, or neither")
    classes = None
    for name, X_part, y_part in (("", X, y), ("_val", X_val, y_val)):
        if X_part is None:
            continue
        if X_part.dtype.kind not in "biuf":
            raise bad("X{} holds {} values; it must hold real numbers".format(name, X_part.dtype))
        if X_part.ndim != 2 or 0 in X_part.shape:
            raise bad("X{} must be 2-D (examples, features) and not empty, not of shape {}".format(
                name, X_part.shape))
        if not np.all(np.isfinite(X_part)):
            raise bad("X{} holds NaN or infinite values".format(name))
        if y_part.ndim not in (1, 2) or len(y_part) != len(X_part):
            raise bad("y{} must hold one label (or target row) for each of the {} rows of X{}, "
                      "not shape {}".format(name, len(X_part), name, y_part.shape))
        if name and X_part.shape[1] != X.shape[1]:
            raise bad("X_val has {} features, X {}".format(X_part.shape[1], X.shape[1]))
    if y.dtype.kind in "US" and y.ndim == 1:
        classes = np.unique(y)
        unknown = np.setdiff1d(y_val, classes) if y_val is not None else []
        if len(unknown):
            raise bad("y_val holds labels that y does not, like {!r}".format(unknown[0]))
        y = np.searchsorted(classes, y)
        y_val = np.searchsorted(classes, y_val) if y_val is not None else None
        print("labels {} numbered 0..{} in sorted order".format(
            ", ".join(map(str, classes[:10])) + (", ..." if len(classes) > 10 else ""),
            len(classes) - 1), flush=True)
    for name, labels in (("y", y), ("y_val", y_val)):
        if labels is None:
            continue
        if labels.dtype.kind not in "biuf":
            raise bad("{} holds {} values; use whole numbers >= 0 or strings".format(name, labels.dtype))
        if not np.all(np.isfinite(labels)):
            raise bad("{} holds NaN or infinite values".format(name))
        if labels.ndim == 1 and (np.any(labels < 0) or np.any(labels != np.round(labels))):
            raise bad("{} labels must be whole numbers >= 0 (or strings)".format(name))
    if y.ndim == 1:
        y = y.astype(np.int64)
        y_val = y_val.astype(np.int64) if y_val is not None else None
    return X, y, X_val, y_val


def run_train(args):
    created = not os.path.exists(args.out)
    check_out_dir(args.out)
    try:
        train_into(args)
    except BaseException:
        # a run that failed before writing anything leaves no empty folder behind
        if created and os.path.isdir(args.out) and not os.listdir(args.out):
            os.rmdir(args.out)
        raise


def train_into(args):
    """run_train's work, once --out exists."""
    from . import history as hist
    if args.resume:
        resume_settings(args, finished_epochs(args))
    if args.plot:
        from .figures import require_matplotlib
        require_matplotlib()     # no matplotlib: say how to install it before training, not after
    os.environ["FASTNN_PROGRESS"] = {"auto": "", "always": "1", "never": "0"}[args.progress]
    if args.preset and args.sizes:
        raise UserError("--preset and --sizes exclude each other: a preset is one of the book's "
                        "chapter 6 networks, --sizes a dense network")
    if args.preset:
        records, save_network, label = train_preset(args)
    else:
        records, save_network, label = train_dense(args)
    save_network()
    save_settings(args, args.epochs_planned)
    json_path = os.path.join(args.out, "history.json")
    hist.save(records, json_path)
    hist.save(records, os.path.join(args.out, "history.csv"))
    written = [os.path.basename(network_path_of(args)), json_path, "history.csv", SETTINGS_FILE]
    if args.plot:
        hist.plot([(label, records)], os.path.join(args.out, "curves.png"), title=label)
        written.append("curves.png")
    print("wrote {} into {}".format(", ".join(os.path.basename(w) for w in written), args.out))
    if getattr(args, "report", None):
        print(args.report)
    if getattr(args, "interrupted", False):
        raise KeyboardInterrupt


def network_path_of(args):
    return os.path.join(args.out, "network.npz" if args.preset else "network.json")


def finished_epochs(args):
    """How many epochs the history in --out records (for --resume)."""
    previous = _saved_history(args)
    return len(previous["validation_accuracy"]) if isinstance(previous, dict) else len(previous)


def _saved_history(args):
    """The history in --out, read and checked, or a UserError."""
    from . import history as hist
    path = os.path.join(args.out, "history.json")
    if not os.path.isfile(path):
        raise UserError("--resume: no history.json in {} (train there first, without --resume)".format(
            args.out))
    try:
        return hist.load(path)
    except (ValueError, TypeError) as exc:
        raise UserError("--resume: cannot read {}: {}".format(path, exc)) from None


def _previous_history(args, expect):
    from . import history as hist
    previous = _saved_history(args)
    if hist.kind(previous) != expect:
        raise UserError("--resume: {} holds a {} history, not this run's {}".format(
            os.path.join(args.out, "history.json"), hist.kind(previous), expect))
    return previous


def optimizer_of(args):
    """The optimizer object the flags describe (``fastnn.optimizers``)."""
    from . import optimizers
    name = getattr(args, "optimizer", None) or "sgd"
    weight_decay = getattr(args, "weight_decay", None)
    try:
        if name == "sgd":
            if weight_decay is not None:
                raise UserError("--weight-decay goes with --optimizer adamw")
            return optimizers.SGD(momentum=args.momentum, nesterov=bool(getattr(args, "nesterov", False)))
        if args.momentum or getattr(args, "nesterov", False):
            raise UserError("--momentum and --nesterov go with --optimizer sgd, not {}".format(name))
        if name == "adamw":
            return optimizers.AdamW(weight_decay=0.01 if weight_decay is None else weight_decay)
        if weight_decay is not None:
            raise UserError("--weight-decay goes with --optimizer adamw")
        return optimizers.get(name)
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None


def train_dense(args):
    from . import MLP, HalveOnPlateau
    X, y, X_val, y_val, X_test, y_test = load_training_data(
        args, need_validation=args.early_stopping is not None or args.halve_on_plateau is not None)
    X = np.asarray(X)
    if X.ndim != 2:
        raise UserError("X must be 2-D (examples, features), got shape {}".format(X.shape))
    classes = int(np.max(y)) + 1 if np.asarray(y).ndim == 1 else np.asarray(y).shape[1]
    if args.dataset in ("mnist", "expanded"):
        classes = 10
    sizes = args.sizes or [X.shape[1], 30, classes]
    if sizes[0] != X.shape[1]:
        raise UserError("--sizes starts with {} inputs but the data have {} features".format(
            sizes[0], X.shape[1]))
    cost = args.cost or ("log_likelihood" if args.output == "softmax" else "cross_entropy")
    dtype = args.dtype or "float64"
    epochs = args.epochs or 30
    optimizer = optimizer_of(args)
    eta = optimizer.default_learning_rate if args.eta is None else args.eta
    network_path = network_path_of(args)
    previous = []
    try:
        if args.resume:
            previous = _previous_history(args, "mlp")
            if not os.path.isfile(network_path):
                raise UserError("--resume: no network.json in {}".format(args.out))
            net = MLP.load(network_path, backend=args.backend, dtype=dtype)
            if net.epochs_trained == 0:
                # a file without its training state (an older fastnn): a new
                # generator, and the optimizer starts afresh
                net.rng = np.random.default_rng([args.seed, len(previous)])
        else:
            activation = activations.get(args.activation, **args.activation_params)
            net = MLP(sizes, activation=activation, output=args.output, cost=cost,
                      init=args.init, dtype=dtype, backend=args.backend, seed=args.seed)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    learning_rate = eta if args.halve_on_plateau is None else HalveOnPlateau(args.halve_on_plateau, eta=eta)
    X = np.ascontiguousarray(X, dtype=dtype) if X.dtype != np.float32 else X
    label = "[{}] {}, eta {}{}".format(", ".join(map(str, net.sizes)), net.cost.__name__, eta,
                                       ", lmbda {}".format(args.lmbda) if args.lmbda else "")
    if not args.quiet:
        print("Training {} on {} examples{} for {} epochs".format(
            label, len(X), " (resuming after epoch {})".format(len(previous) - 1) if previous else "",
            epochs), flush=True)
    # a network saved with its training state numbers its epochs on by itself
    offset = len(previous) - net.epochs_trained
    start = len(net.history)
    args.epochs_planned = len(previous) + epochs

    def number(entry):
        entry["epoch"] += offset

    try:
        records = net.fit(X, y, epochs=epochs, batch_size=args.batch_size, learning_rate=learning_rate,
                          l2=args.lmbda or 0.0, l1=args.l1, optimizer=optimizer,
                          validation_data=None if X_val is None else (X_val, y_val),
                          early_stopping=args.early_stopping, restore_best=args.restore_best,
                          monitor_training=args.monitor_training,
                          monitor_gradients=args.monitor_gradients, shuffle=args.shuffle,
                          verbose=not args.quiet, on_epoch=number)[start:]
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        records = net.history[start:]
        records = interrupted(args, records, len(records))
    if X_test is not None:
        args.report = "test accuracy {:.2%} on the {:,} test images (the network as saved)".format(
            net.score(X_test, y_test), len(X_test))
    return previous + records, lambda: net.save(network_path), label


def interrupted(args, records, finished):
    """Ctrl-C: the trainer stopped between chunks of mini-batches, the weights
    finite; the finished epochs' history (``records``) and the weights are
    saved as they are, then the command exits with status 130."""
    args.interrupted = True
    print("\ninterrupted: saving the network as it is and the {} finished epoch{}".format(
        finished, "" if finished == 1 else "s"), file=sys.stderr, flush=True)
    return records


def train_preset(args):
    from . import network3
    from .ladder import LADDER, MB
    rung = LADDER[args.preset]
    if args.dataset == "mnist" and rung.expanded:
        args.dataset = "expanded"
    X, y, X_val, y_val, X_test, y_test = load_training_data(args, need_validation=True)
    if np.asarray(X).shape[1:] != (784,):
        raise UserError("the chapter 6 presets take 28x28 images (784 features), not {}".format(
            np.asarray(X).shape[1:]))
    if args.batch_size != MB:
        raise UserError("the chapter 6 presets are built for mini-batches of {}; drop --batch-size".format(MB))
    epochs = args.epochs or rung.epochs
    eta = rung.eta if args.eta is None else args.eta
    lmbda = rung.lmbda if args.lmbda is None else args.lmbda
    np.random.seed(args.seed)
    net = network3.Network(rung.layers(), MB, dtype=args.dtype or "float32", backend=args.backend,
                           seed=args.seed)
    network_path = network_path_of(args)
    previous = None
    if args.resume:
        previous = _previous_history(args, "network3")
        if not os.path.isfile(network_path):
            raise UserError("--resume: no network.npz in {}".format(args.out))
        load_preset_weights(network_path, net)
    schedule = None
    if args.halve_on_plateau is not None:
        from . import HalveOnPlateau
        schedule = HalveOnPlateau(args.halve_on_plateau)
    args.epochs_planned = epochs + (len(previous["validation_accuracy"]) if previous else 0)
    label = "{} (chapter 6), eta {}, lmbda {}".format(args.preset, eta, lmbda)
    test = (X_test, y_test) if X_test is not None else None
    try:
        records = net.SGD((X, y), epochs, MB, eta, (X_val, y_val), test, lmbda=lmbda,
                          optimizer=optimizer_of(args), l1=args.l1,
                          early_stopping=args.early_stopping,
                          learning_rate_schedule=schedule, verbose=not args.quiet)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        if getattr(net, "history", None) is None:
            raise           # stopped before training began: nothing to save
        records = interrupted(args, net.history, len(net.history["validation_accuracy"]))
    if previous is not None:
        records = merge_network3(previous, records, len(X) // MB)
    if records["test_accuracy_at_best"] is not None:
        args.report = "test accuracy {:.2%} at the best validation accuracy ({:.2%}, iteration " \
            "{})".format(records["test_accuracy_at_best"], records["best_validation_accuracy"],
                         records["best_iteration"])
    return records, lambda: net.save(network_path), label


def load_preset_weights(path, net):
    """Put the weights, biases and training state saved in ``path``
    (network.npz, ``network3.Network.save``'s file, or an older one without
    the layers' description) into the layers of ``net``; a file that does
    not hold exactly them, of the layers' shapes and finite, is refused
    before anything is changed."""
    from . import _network3_file
    try:
        _network3_file.load_weights(net, path)
    except (ValueError, OSError) as exc:
        raise UserError("--resume: {}".format(exc)) from None


def merge_network3(before, after, batches):
    """One network3 history from two runs, the second continuing the first
    (``batches`` mini-batches an epoch); the best epoch is chosen by the
    trainer's one rule (``fastnn._best``: a tie is a new best, so the later
    run's epoch wins it).  ``SGD`` counts iterations from 0 in each call, so
    a best epoch of the second run has its iteration moved on by the first
    run's epochs."""
    from ._best import improves
    merged = {k: list(v) + list(after.get(k, [])) for k, v in before.items() if isinstance(v, list)}
    later = after["best_iteration"] is not None and (
        before["best_iteration"] is None or
        improves(after["best_validation_accuracy"], before["best_validation_accuracy"]))
    for k in ("best_validation_accuracy", "best_iteration", "test_accuracy_at_best"):
        merged[k] = (after if later else before)[k]
    if later:
        merged["best_iteration"] += batches * len(before["validation_accuracy"])
    return merged


# -- plot -------------------------------------------------------------------------

def run_plot(args):
    from . import history as hist
    labels = args.labels.split(",") if args.labels else None
    if labels is not None and len(labels) != len(args.histories):
        raise UserError("--labels gives {} labels for {} histories".format(len(labels), len(args.histories)))
    runs = []
    for i, path in enumerate(args.histories):
        if not os.path.isfile(path):
            raise UserError("history file {} does not exist".format(path))
        try:
            records = hist.load(path)
        except (ValueError, TypeError) as exc:
            raise UserError("cannot read {}: {}".format(path, exc)) from None
        runs.append((labels[i] if labels else default_label(path), records))
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UserError("--out {}: the folder {} does not exist".format(args.out, folder))
    check_out_dir(folder)
    hist.plot(runs, args.out, title=args.title)
    print("wrote {}".format(args.out))


def default_label(path):
    """A run's name: the file's name, or its folder's for history.json/csv."""
    base = os.path.splitext(os.path.basename(path))[0]
    if base == "history":
        return os.path.basename(os.path.dirname(os.path.abspath(path))) or base
    return base


# -- figures ----------------------------------------------------------------------

FIGURES_DESCRIPTION = """\
Regenerate the book's chapter 3 and chapter 5 figures with fastnn.network2,
seeded as the book's figure programs were and shuffling as Python 2.7 did,
so that the numbers are the book's.  Each figure is written as its data, in
the layout and under the name of the book's JSON file, and as a PNG drawn
like the book's figure.

Figures: overfitting, regularized, overfitting_full, regularized_full,
weight_initialization_30, weight_initialization_100, multiple_eta,
more_data, training_speed_2, training_speed_3, training_speed_4.

--check DIR compares each with the published JSON file of the same name in
DIR and prints, per figure, how many epochs agree exactly (accuracies equal,
costs within 1e-12) and where the two part."""


def run_figures(args):
    from . import figures
    try:
        names = figures.resolve(args.names)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.check is not None and not os.path.isdir(args.check):
        raise UserError("--check {}: no such folder (it should hold the book's published JSON "
                        "files, like overfitting.json)".format(args.check))
    check_out_dir(args.out)
    force = {"auto": None, "always": True, "never": False}[args.progress]
    started = time.perf_counter()
    print("Regenerating {} figure{}{} into {}".format(
        len(names), "s" if len(names) != 1 else "", " (--quick: fewer epochs)" if args.quick else "",
        args.out), flush=True)
    results, seconds, work = figures.run(names, args.out, quick=args.quick, data=args.data,
                                         plot=args.plot, backend=args.backend,
                                         log=lambda line: print(line, flush=True),
                                         progress_bars=force, jobs=args.jobs)
    print("{} figure{} in {:.1f} s".format(len(names), "s" if len(names) != 1 else "",
                                           time.perf_counter() - started))
    if args.check is not None:
        print()
        print("Compared with the published files in {}:".format(args.check))
        for name, report in figures.compare(results, args.check).items():
            for line in figures.format_report(name, report):
                print(line)


# -- bench ------------------------------------------------------------------------

def run_bench(args):
    """Seconds per epoch of 50,000 images, compiled vs numpy, from the best of
    ``--repeat`` runs on ``--train-size`` images (scaled); and what a progress
    bar adds to an epoch (drawn into a null stream; its cost is per epoch and
    per chunk of mini-batches, not per image, so it is not scaled)."""
    from . import MLP
    from .datasets import load_mnist
    from .progress import EpochBars
    (X, y), _, _ = load_mnist(args.data)
    n = min(args.train_size, len(X))
    X, y = X[:n], y[:n]
    scale = 50000.0 / n
    devnull = open(os.devnull, "w")
    print("Seconds per epoch of 50,000 MNIST images (timed on {} and scaled), mini-batch 10, "
          "cross-entropy, best of {}:".format(n, args.repeat))
    print()
    print("| sizes | dtype | numpy s | compiled s | speedup | progress bar adds |")
    print("|---|---|---|---|---|---|")

    def epoch(sizes, dtype, backend, bar=False):
        best = float("inf")
        Xd = np.ascontiguousarray(X, dtype=dtype)
        for r in range(args.repeat):
            net = MLP(sizes, dtype=dtype, backend=backend, seed=0)
            on_progress = EpochBars(1, stream=devnull, force=True) if bar else None
            t = time.perf_counter()
            net.fit(Xd, y, epochs=1, batch_size=10, learning_rate=0.5, on_progress=on_progress)
            best = min(best, time.perf_counter() - t)
        return best

    for sizes in ([784, 30, 10], [784, 100, 10]):
        for dtype in ("float64", "float32"):
            numpy_s = epoch(sizes, dtype, "numpy") * scale
            plain = epoch(sizes, dtype, "cython")
            with_bar = epoch(sizes, dtype, "cython", bar=True)
            compiled_s = plain * scale
            extra = with_bar - plain
            print("| {} | {} | {:.3f} | {:.3f} | {:.1f}x | {:+.1f} ms ({:+.2%}) |".format(
                sizes, dtype, numpy_s, compiled_s, numpy_s / compiled_s, extra * 1e3,
                extra / compiled_s), flush=True)
    devnull.close()
    print()
    if n < 1000:
        print("({} images per run are too few for steady times: the ratios above may be far from "
              "a full epoch's; take --train-size 1000 or more.)".format(n))
    print("(The README's table also times the book's per-example loop: "
          "pytest benchmarks/bench_dense.py.)")


# -- entry point ------------------------------------------------------------------

def main(argv=None, prog="fastnn"):
    """Run the command; returns the exit status (0, 1 for a failed run, 2 for
    a usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("FASTNN_DEBUG", "").strip() not in ("", "0")
    commands = ("demo", "train", "plot", "figures", "bench")
    named = [a for a in argv if a in commands][:1]
    name = prog if prog != "fastnn" or not named else "{} {}".format(prog, named[0])
    import warnings
    # a warning is one line naming the command, not a source line a user did not write; put
    # back on return, for a program or a notebook that calls main()
    previous_format = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *rest, **kw: "{}: warning: {}\n".format(
        name, message)
    try:
        if prog == "fastnn-demo":
            parser = demo_parser()
            argv = argv[1:] if argv[:1] == ["demo"] else argv
        else:
            parser = build_parser(prog)
        args = parser.parse_args(argv)
        if getattr(args, "command", None) is None and prog != "fastnn-demo":
            parser.print_help()
            return EXIT_USAGE
        name = "{} {}".format(prog, args.command) if prog == "fastnn" else prog
        config = {}
        if getattr(args, "config", None):
            sub = parser._subparsers._group_actions[0].choices[args.command]
            config = read_config(args.config, sub)
            sub.set_defaults(**config)
            args = parser.parse_args(argv)
        if getattr(args, "command", None) == "train":
            args.given = given_options(parser, argv) | set(config)
        args.run(args)
        return 0
    except UserError as exc:
        if debug:
            raise
        message = str(exc).replace("(see {} --help)".format(prog), "(see {} --help)".format(name))
        print("{}: error: {}".format(name, message), file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:
        if debug:
            raise
        print("{}: error: {}".format(name, exc), file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        if debug:
            raise
        message = str(exc)
        if "MNIST" in message:       # the loader's advice names its Python argument; give the flag
            message = message.split(" To use local copies")[0].split(" Either pass")[0].rstrip(". ")
            message = message.replace("the path argument", "--data") + "; pass --data DIR naming a folder with the four MNIST .gz files (or " \
                       "mnist.pkl.gz), or set FASTNN_DATA"
        print("{}: error: {}".format(name, " ".join(message.split())), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("{}: interrupted".format(name), file=sys.stderr)
        return 130
    except Exception as exc:
        from .datasets import DownloadError
        from .trainer import TrainingDiverged
        if debug:
            raise
        if isinstance(exc, DownloadError):
            print("{}: error: no MNIST files were found and downloading them failed ({}); pass "
                  "--data DIR naming a folder with the four MNIST .gz files, or set "
                  "FASTNN_DATA".format(name, str(exc).splitlines()[0]), file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, TrainingDiverged):
            print("{}: {}".format(name, exc), file=sys.stderr)
            return 1
        raise
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":
    sys.exit(main())
