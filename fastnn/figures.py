"""The book's chapter 3 and chapter 5 figures, regenerated with ``fastnn.network2``.

Each figure is the run of one of the book's figure programs (``overfitting.py``,
``weight_initialization.py``, ``multiple_eta.py``, ``more_data.py``,
``generate_gradient.py``), made the same way: both generators seeded with
12345678, the data loaded, the network built (its weights drawn from
``np.random`` in the book's order), ``SGD`` called with the book's arguments,
and the training list shuffled as Python 2.7 shuffled it
(``fastnn.set_shuffle("python2")``).  The drop-in draws the same random numbers
as the book's code, so the mini-batches are the book's and the numbers retrace
the published ones, until rounding sends them apart (see ``compare``).

``run(names, out)`` writes, per figure, its data in the layout of the book's
JSON file (same file name) and a PNG drawn like the book's figure;
``compare(out, published)`` says for each figure how many epochs agree
exactly with the published file and where they part.  ``fastnn figures`` is
the command around both.

The chapter 5 runs (``training_speed_*``) were not seeded in the book, so
only their pattern can be compared; here they are seeded like the others, so
that each run of ours gives the same numbers.
"""
import contextlib
import io
import json
import os
import random
import time
from collections import OrderedDict

import numpy as np

from . import network2, progress, trainer
from ._config import get_shuffle, set_shuffle
from ._files import atomic_write

SEED = 12345678
#: The book's plot colours (its figure programs use these three first).
COLORS = ["#2A6EA6", "#FFCD33", "#FF7033", "#007D6F"]
#: How close a published cost must be to count as the same number.
COST_TOLERANCE = 1e-12


class Work(object):
    """Examples pushed through the network by a figure's runs, per network
    shape: ``train`` (one backpropagation and update each, in SGD),
    ``forward`` (one feedforward each, in the monitors) and ``backprop``
    (gradients for chapter 5's norms).  With a per-example timing of the
    book's code it gives an estimate of the book's run time."""

    def __init__(self):
        self.counts = {}
        self.cpu_seconds = None      # CPU time of the figure's process while it ran

    def add(self, sizes, train=0, forward=0, backprop=0):
        c = self.counts.setdefault(tuple(sizes), {"train": 0, "forward": 0, "backprop": 0})
        c["train"] += train
        c["forward"] += forward
        c["backprop"] += backprop


class Figure(object):
    """One figure: its ``name``, the book's ``chapter``, the JSON file ``filename``
    it writes (the book's name), what it shows, and ``make(ctx)`` running it."""

    def __init__(self, name, chapter, filename, title, make, draw):
        self.name, self.chapter, self.filename, self.title = name, chapter, filename, title
        self.make, self.draw = make, draw

    @property
    def png(self):
        return os.path.splitext(self.filename)[0] + ".png"


class Context(object):
    """What a figure's runs need: the data (loaded once, copied per run since
    SGD shuffles its list in place), ``quick`` (fewer epochs), the progress
    bar, and the work counter."""

    def __init__(self, data, quick, bar, work, backend):
        self.data, self.quick, self.bar, self.work, self.backend = data, quick, bar, work, backend

    def fresh_data(self):
        """New lists, in the loader's order, as a freshly started book script has them."""
        training, validation, test = self.data
        return list(training), validation, test

    def epochs(self, full, quick):
        return quick if self.quick else full

    def network(self, sizes, large=False):
        net = network2.Network(sizes, cost=network2.CrossEntropyCost, backend=self.backend)
        if large:
            net.large_weight_initializer()
        return net

    def sgd(self, net, training, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitors=(), full_epochs=None):
        """``net.SGD`` with the book's arguments; its printed lines advance the
        bar instead of reaching the terminal.  When ``quick`` cut the run short
        of the book's ``full_epochs``, the list is then shuffled once per
        skipped epoch, as the full run would have: the next run that shares the
        list and the generator (multiple_eta, weight_initialization) starts
        where the book's did, and its first epochs still retrace the book."""
        flags = {"monitor_" + m: True for m in monitors}
        with contextlib.redirect_stdout(_EpochLines(self.bar)):
            result = net.SGD(training, epochs, mini_batch_size, eta, lmbda=lmbda,
                             evaluation_data=evaluation_data, **flags)
        for _ in range((full_epochs or epochs) - epochs):
            trainer.book_shuffle(training)
        evaluated = sum(len(evaluation_data) for m in monitors if m.startswith("evaluation")) + \
            sum(len(training) for m in monitors if m.startswith("training"))
        self.work.add(net.sizes, train=epochs*len(training), forward=epochs*evaluated)
        return [list(r) for r in result]


class _EpochLines(io.TextIOBase):
    """Stands in for stdout during network2's SGD: each "Epoch N training
    complete" line it prints moves the figure's bar one epoch on."""

    def __init__(self, bar):
        self.bar = bar

    def writable(self):
        return True

    def write(self, text):
        if self.bar is not None:
            self.bar.update(text.count("training complete"))
        return len(text)


# -- the figures' runs (the book's recipes; see SOURCES.md beside the published files) --

def _seed():
    random.seed(SEED)
    np.random.seed(SEED)


def overfitting_run(size, epochs, quick, lmbda):
    """overfitting.py: [784, 30, 10], large initial weights, mini-batch 10,
    eta 0.5, the first ``size`` training images, test data monitored, all four
    monitors on.  Returns the book's four lists."""
    def make(ctx):
        _seed()
        training, _, test = ctx.fresh_data()
        net = ctx.network([784, 30, 10], large=True)
        return ctx.sgd(net, training[:size], ctx.epochs(epochs, quick), 10, 0.5, lmbda=lmbda,
                       evaluation_data=test,
                       monitors=("evaluation_cost", "evaluation_accuracy", "training_cost",
                                 "training_accuracy"))
    make.epochs = (epochs, quick)
    return make


def weight_initialization_run(hidden):
    """weight_initialization.py: [784, n, 10] trained 30 epochs (eta 0.1,
    lmbda 5.0, validation accuracy monitored) from the default initial
    weights, then the same network object re-initialized with large weights
    and trained again on the same, already shuffled list."""
    def make(ctx):
        _seed()
        training, validation, _ = ctx.fresh_data()
        net = ctx.network([784, hidden, 10])
        epochs = ctx.epochs(30, 3)
        default = ctx.sgd(net, training, epochs, 10, 0.1, lmbda=5.0, evaluation_data=validation,
                          monitors=("evaluation_accuracy",), full_epochs=30)
        net.large_weight_initializer()
        large = ctx.sgd(net, training, epochs, 10, 0.1, lmbda=5.0, evaluation_data=validation,
                        monitors=("evaluation_accuracy",))
        return OrderedDict([("default_weight_initialization", default),
                            ("large_weight_initialization", large)])
    make.epochs = (60, 6)
    return make


MULTIPLE_ETA = [0.025, 0.25, 2.5]


def multiple_eta(ctx):
    """multiple_eta.py: generators seeded once, then for each eta a new
    [784, 30, 10] network trained 30 epochs (lmbda 5.0) on the same list,
    training cost monitored."""
    _seed()
    training, validation, _ = ctx.fresh_data()
    results = []
    for eta in MULTIPLE_ETA:
        net = ctx.network([784, 30, 10])
        results.append(ctx.sgd(net, training, ctx.epochs(30, 3), 10, eta, lmbda=5.0,
                               evaluation_data=validation, monitors=("training_cost",),
                               full_epochs=30))
    return results


multiple_eta.epochs = (90, 9)

MORE_DATA_SIZES = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]


def more_data(ctx):
    """more_data.py: one [784, 30, 10] network, for each training-set size
    re-initialized with large weights and trained on the first ``size``
    images for 1,500,000/size epochs (eta 0.5, lmbda size/10,000); the
    validation accuracy in percent after each.  ``quick`` trains 1/30 of
    those epochs."""
    _seed()
    training, validation, _ = ctx.fresh_data()
    net = ctx.network([784, 30, 10])
    accuracies = []
    for size in MORE_DATA_SIZES:
        net.large_weight_initializer()
        epochs = 1500000 // size // (30 if ctx.quick else 1)
        ctx.sgd(net, training[:size], epochs, 10, 0.5, lmbda=size*0.0001)
        accuracies.append(net.accuracy(validation) / 100.0)
        ctx.work.add(net.sizes, forward=len(validation))
    return accuracies


more_data.epochs = (sum(1500000 // s for s in MORE_DATA_SIZES),
                    sum(1500000 // s // 30 for s in MORE_DATA_SIZES))


def training_speed_run(hidden_layers):
    """generate_gradient.py: [784, 30 x hidden_layers, 10] on the first 1,000
    training images; each of 500 epochs, first the norm of each hidden
    layer's mean bias gradient over those images (chapter 5's speed of
    learning), then one epoch of SGD with all 1,000 in one mini-batch (eta
    0.1, lmbda 5.0).  Rows of norms, first hidden layer first.  The
    gradients come from the kernels' backprop over the 1,000 rows at once."""
    def make(ctx):
        _seed()
        training, _, _ = ctx.fresh_data()
        td = training[:1000]
        net = ctx.network([784] + [30]*hidden_layers + [10])
        X, Y = net._arrays(td, "training data", "vector")
        kernels, spec = net._kernels(), net._spec()
        norms = []
        for _ in range(ctx.epochs(500, 50)):
            weights, biases = net._parameters(fresh=False)
            nabla_b, _ = kernels.backprop(weights, biases, X, Y, spec)
            norms.append([float(np.linalg.norm(nb / len(X))) for nb in nabla_b[:-1]])
            ctx.work.add(net.sizes, backprop=len(X))
            ctx.sgd(net, td, 1, 1000, 0.1, lmbda=5.0)
        return norms
    make.epochs = (500, 50)
    return make


# -- drawing, after the book's figure programs ----------------------------------------

def require_matplotlib():
    """Import matplotlib or raise ImportError saying how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("drawing plots needs matplotlib: pip install 'fastnn[plot]'") from None


def new_figure(figsize, nrows=1, ncols=1):
    """A matplotlib Figure and its axes, drawn by the Agg renderer when saved.
    No pyplot: nothing global changes (an interactive session keeps its
    backend) and no display is needed."""
    require_matplotlib()
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols)


def _save(fig, path):
    with atomic_write(path, "wb", suffix=".png") as f:
        fig.savefig(f, format="png", dpi=80)


def _axes_style(ax, title, xlabel, ylabel=None):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True)


def draw_monitors(data, path, title, n_training, n_test):
    """overfitting.py's four plots side by side: training cost, test
    accuracy, test cost, training accuracy, against epochs."""
    test_cost, test_accuracy, training_cost, training_accuracy = data
    fig, axes = new_figure((10, 7), 2, 2)
    panels = [(training_cost, "Cost on the training data", None),
              (test_accuracy, "Accuracy (%) on the test data", n_test),
              (test_cost, "Cost on the test data", None),
              (training_accuracy, "Accuracy (%) on the training data", n_training)]
    for ax, (values, label, n) in zip(axes.flat, panels):
        values = [100.0 * v / n for v in values] if n else values
        ax.plot(np.arange(len(values)), values, color=COLORS[0])
        _axes_style(ax, label, "Epoch")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def draw_weight_initialization(data, path, hidden):
    fig, ax = new_figure((6, 4.5))
    for (key, label), color in zip([("large_weight_initialization", "Old approach to weight initialization"),
                                    ("default_weight_initialization", "New approach to weight initialization")],
                                   (COLORS[0], "#FFA933")):
        accuracy = data[key][1]
        ax.plot(np.arange(len(accuracy)), [a / 100.0 for a in accuracy], color=color, label=label)
    _axes_style(ax, "Classification accuracy, {} hidden neurons".format(hidden), "Epoch", "Accuracy (%)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)


def draw_multiple_eta(data, path):
    fig, ax = new_figure((6, 4.5))
    for eta, result, color in zip(MULTIPLE_ETA, data, COLORS):
        ax.plot(np.arange(len(result[2])), result[2], "o-", color=color, markersize=3,
                label="$\\eta$ = {}".format(eta))
    _axes_style(ax, "Cost on the training data", "Epoch", "Cost")
    ax.legend(loc="upper right")
    fig.tight_layout()
    _save(fig, path)


def draw_more_data(data, path):
    fig, ax = new_figure((6, 4.5))
    ax.plot(MORE_DATA_SIZES[:len(data)], data, "o-", color=COLORS[0])
    ax.set_xscale("log")
    _axes_style(ax, "Accuracy (%) on the validation data", "Training set size", "Accuracy (%)")
    fig.tight_layout()
    _save(fig, path)


def draw_training_speed(data, path, hidden_layers):
    fig, ax = new_figure((6, 4.5))
    for j in range(hidden_layers):
        ax.plot(np.arange(len(data)), [row[j] for row in data], color=COLORS[j],
                label="Hidden layer {}".format(j + 1))
    ax.set_yscale("log")
    _axes_style(ax, "Speed of learning: {} hidden layers".format(hidden_layers),
                "Number of epochs of training")
    ax.legend(loc="upper right")
    fig.tight_layout()
    _save(fig, path)


# -- the catalogue -----------------------------------------------------------------

def _catalogue():
    figures = [
        Figure("overfitting", 3, "overfitting.json",
               "1,000 training images, no regularization, 400 epochs: overfitting",
               overfitting_run(1000, 400, 30, 0.0),
               lambda d, p: draw_monitors(d, p, "Overfitting: 1,000 training images, lmbda = 0", 1000, 10000)),
        Figure("regularized", 3, "regularized.json",
               "1,000 training images, L2 regularization lmbda 0.1, 400 epochs",
               overfitting_run(1000, 400, 30, 0.1),
               lambda d, p: draw_monitors(d, p, "Regularized: 1,000 training images, lmbda = 0.1", 1000, 10000)),
        Figure("overfitting_full", 3, "overfitting_full.json",
               "all 50,000 training images, no regularization, 30 epochs",
               overfitting_run(50000, 30, 3, 0.0),
               lambda d, p: draw_monitors(d, p, "50,000 training images, lmbda = 0", 50000, 10000)),
        Figure("regularized_full", 3, "regularized_full.json",
               "all 50,000 training images, lmbda 5.0, 30 epochs",
               overfitting_run(50000, 30, 3, 5.0),
               lambda d, p: draw_monitors(d, p, "50,000 training images, lmbda = 5.0", 50000, 10000)),
    ]
    for hidden in (30, 100):
        figures.append(Figure(
            "weight_initialization_{}".format(hidden), 3, "weight_initialization_{}.json".format(hidden),
            "default vs large initial weights, {} hidden neurons".format(hidden),
            weight_initialization_run(hidden),
            lambda d, p, h=hidden: draw_weight_initialization(d, p, h)))
    figures.append(Figure("multiple_eta", 3, "multiple_eta.json",
                          "training cost for eta 0.025, 0.25 and 2.5", multiple_eta, draw_multiple_eta))
    figures.append(Figure("more_data", 3, "more_data.json",
                          "validation accuracy against training-set size", more_data, draw_more_data))
    for layers in (2, 3, 4):
        figures.append(Figure(
            "training_speed_{}".format(layers), 5, "norms_during_training_{}_layers.json".format(layers),
            "each hidden layer's gradient norm over 500 epochs, {} hidden layers".format(layers),
            training_speed_run(layers),
            lambda d, p, k=layers: draw_training_speed(d, p, k)))
    return OrderedDict((f.name, f) for f in figures)


FIGURES = _catalogue()
#: Names that stand for several figures.
GROUPS = {
    "weight_initialization": ["weight_initialization_30", "weight_initialization_100"],
    "training_speed": ["training_speed_2", "training_speed_3", "training_speed_4"],
    "chapter3": [n for n, f in FIGURES.items() if f.chapter == 3],
    "chapter5": [n for n, f in FIGURES.items() if f.chapter == 5],
}


def resolve(names):
    """The figures ``names`` stand for (all of them for none), in catalogue
    order; ValueError naming the choices for an unknown name."""
    if not names:
        return list(FIGURES)
    chosen = set()
    for name in names:
        if name in FIGURES:
            chosen.add(name)
        elif name in GROUPS:
            chosen.update(GROUPS[name])
        else:
            raise ValueError("unknown figure {!r}; choose from: {}".format(
                name, ", ".join(list(FIGURES) + sorted(GROUPS))))
    return [n for n in FIGURES if n in chosen]


# -- running and checking ----------------------------------------------------------

def run(names=None, out=".", quick=False, data=None, plot=True, backend=None, log=print,
        progress_bars=None, jobs=1):
    """Regenerate the figures ``names`` (default: all) into the folder ``out``:
    ``<file>.json`` in the book's layout and, with ``plot``, ``<file>.png``.
    ``data`` is the folder of the MNIST files (see ``fastnn.datasets``).
    ``quick`` cuts the epochs (about a minute for everything).  ``jobs`` > 1
    runs that many figures at once in worker processes (each figure is its
    own seeded program, so the numbers do not change).  Returns
    ``(results, seconds, work)``: the data of each figure by name, the wall
    time of each, and the ``Work`` each did."""
    from . import mnist_loader
    names = resolve(names)
    if plot:
        require_matplotlib()     # fail before minutes of work, not after
    os.makedirs(out, exist_ok=True)
    loaded = mnist_loader.load_data_wrapper(data)
    results, seconds, work = OrderedDict(), OrderedDict(), OrderedDict()

    def finished(name, result, took, done):
        results[name], seconds[name], work[name] = result, took, done
        figure = FIGURES[name]
        path = os.path.join(out, figure.filename)
        with atomic_write(path, "w") as f:
            json.dump(result, f)
        if plot:
            figure.draw(result, os.path.join(out, figure.png))
        log("{:<26} {:>7.1f} s  {}{}".format(name, took, path, " (+ .png)" if plot else ""))

    if jobs > 1 and len(names) > 1:
        import concurrent.futures
        import multiprocessing
        _WORKER_DATA[:] = [loaded, quick, backend]      # inherited by the forked workers
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(names)), mp_context=multiprocessing.get_context("fork"))
        try:
            pending = [pool.submit(_make_one, name) for name in
                       sorted(names, key=lambda n: -COST.get(n, 1.0))]
            for future in concurrent.futures.as_completed(pending):
                finished(*future.result())
        finally:
            pool.shutdown(cancel_futures=True)
            _WORKER_DATA[:] = []
    else:
        for name in names:
            total = FIGURES[name].make.epochs[1 if quick else 0]
            finished(*_make_one(name, loaded, quick, backend, _bar(name, total, progress_bars)))
    order = {n: i for i, n in enumerate(FIGURES)}
    results, seconds, work = (OrderedDict(sorted(d.items(), key=lambda kv: order[kv[0]]))
                              for d in (results, seconds, work))
    return results, seconds, work


#: Relative CPU cost of each figure at full length (measured), to start the
#: long ones first when figures run in parallel.
COST = {"more_data": 5, "weight_initialization_100": 5, "multiple_eta": 4,
        "weight_initialization_30": 4, "overfitting_full": 2, "regularized_full": 2,
        "overfitting": 1.5, "regularized": 1.5}
_WORKER_DATA = []


def _make_one(name, loaded=None, quick=None, backend=None, bar=None):
    """Run one figure as its book program would (Python 2.7 shuffle, one BLAS
    thread); returns ``(name, data, seconds, work)``."""
    if loaded is None:
        loaded, quick, backend = _WORKER_DATA
    shuffle = get_shuffle()
    set_shuffle("python2")
    work = Work()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        with trainer.one_blas_thread():       # for the monitors and chapter 5's gradients too
            result = FIGURES[name].make(Context(loaded, quick, bar, work, backend))
    finally:
        set_shuffle(shuffle)
        if bar is not None:
            bar.close()
    work.cpu_seconds = time.process_time() - cpu
    return name, result, time.perf_counter() - started, work


def _bar(name, total, force):
    if not progress.enabled(force=force):
        return None
    return progress.bar(total, name, "epoch")


def series(data, path=""):
    """The named number series of a figure's data: every list of numbers in
    it, named by where it sits (``[1]``, ``default_weight_initialization[1]``,
    ``eta=0.25[2]``...).  Rows of per-layer norms become one series per layer."""
    if isinstance(data, dict):
        out = OrderedDict()
        for key, value in data.items():
            out.update(series(value, key))
        return out
    if isinstance(data, list) and data and all(isinstance(v, list) for v in data) and \
            all(v and all(isinstance(x, (int, float)) for x in v) for v in data) and \
            len(set(len(v) for v in data)) == 1 and len(data) > 4:
        # rows of numbers (chapter 5's norms): one series per column
        return OrderedDict(("{}layer {}".format(path + " " if path else "", j + 1),
                            [row[j] for row in data]) for j in range(len(data[0])))
    if isinstance(data, list) and all(isinstance(v, (int, float)) for v in data):
        return OrderedDict([(path or "values", list(data))])
    out = OrderedDict()
    for i, value in enumerate(data):
        label = MONITOR_NAMES[i] if len(data) == 4 and all(isinstance(v, list) for v in data) else \
            (path + "[{}]".format(i))
        if path and len(data) == 4:
            label = "{} {}".format(path, label)
        out.update(series(value, label))
    return out


#: The book's names for the four lists SGD returns.
MONITOR_NAMES = ["evaluation cost", "evaluation accuracy", "training cost", "training accuracy"]


def _same(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return abs(a - b) <= COST_TOLERANCE * max(1.0, abs(b))


def compare_series(ours, book):
    """``(agree, parted)``: how many leading epochs agree (integers equal,
    floats within ``COST_TOLERANCE`` relative), and the first epoch that does
    not (``None`` if all compared epochs agree)."""
    n = min(len(ours), len(book))
    for j in range(n):
        if not _same(ours[j], book[j]):
            return j, j
    return n, None


def compare(results, published_dir):
    """Compare each figure in ``results`` with the book's file of the same
    name in ``published_dir``.  Returns a dict name -> report: ``None`` if
    there is no published file, else ``{"exact": bool, "series": [...]}``
    with one entry per series (``name``, ``epochs``, ``published``,
    ``agree``, ``parted``, ``ours``/``book`` at the parting epoch).  For the
    unseeded chapter 5 runs the entry is a pattern check instead (``pattern``)."""
    reports = OrderedDict()
    for name, data in results.items():
        figure = FIGURES[name]
        path = os.path.join(published_dir, figure.filename)
        if not os.path.exists(path):
            reports[name] = None
            continue
        with open(path) as f:
            book = json.load(f)
        if figure.chapter == 5:
            reports[name] = {"pattern": pattern(data, book)}
            continue
        if name == "multiple_eta":        # name each run by its eta
            data, book = [OrderedDict(("eta {}".format(eta), r) for eta, r in zip(MULTIPLE_ETA, d))
                          for d in (data, book)]
        ours_series, book_series = series(data), series(book)
        entries = []
        for key, values in book_series.items():
            if not values:
                continue
            mine = ours_series.get(key, [])
            agree, parted = compare_series(mine, values)
            entry = {"name": key, "epochs": len(mine), "published": len(values),
                     "agree": agree, "parted": parted}
            if parted is not None:
                entry["ours"], entry["book"] = mine[parted], values[parted]
            entries.append(entry)
        reports[name] = {"exact": all(e["parted"] is None for e in entries), "series": entries}
    return reports


def pattern(ours, book):
    """Chapter 5's runs were not seeded: compare what the figure shows, the
    ratio of each hidden layer's gradient norm to the last hidden layer's, at
    the start and at the end of our run (geometric means over five epochs)."""
    def ratios(rows):
        rows = np.asarray(rows, dtype=float)
        return (rows / rows[:, -1:]).tolist()
    n = min(len(ours), len(book))
    r_ours, r_book = np.asarray(ratios(ours[:n])), np.asarray(ratios(book[:n]))
    k = min(5, n)
    start = (np.exp(np.log(r_ours[:k]).mean(0)), np.exp(np.log(r_book[:k]).mean(0)))
    end = (np.exp(np.log(r_ours[n-k:n]).mean(0)), np.exp(np.log(r_book[n-k:n]).mean(0)))
    slower = bool(np.all(np.diff(r_ours[0]) > 0)) and bool(np.all(np.diff(r_book[0]) > 0))
    return {"epochs": n, "start_ours": start[0].tolist(), "start_book": start[1].tolist(),
            "end_ours": end[0].tolist(), "end_book": end[1].tolist(),
            "earlier_layers_slower": slower}


def format_report(name, report):
    """The lines ``fastnn figures --check`` prints for one figure."""
    if report is None:
        return ["{}: no published file to compare with".format(name)]
    if "pattern" in report:
        p = report["pattern"]
        fmt = lambda v: ", ".join("{:.3g}".format(x) for x in v)
        return ["{}: not seeded in the book; pattern over {} epochs (each hidden layer's gradient "
                "norm / the last hidden layer's)".format(name, p["epochs"]),
                "    start: ours [{}], book [{}]".format(fmt(p["start_ours"]), fmt(p["start_book"])),
                "    end:   ours [{}], book [{}]".format(fmt(p["end_ours"]), fmt(p["end_book"])),
                "    earlier layers learn more slowly at the start: {}".format(
                    "yes, in both" if p["earlier_layers_slower"] else "no")]
    lines = ["{}: {}".format(name, "every compared epoch agrees exactly" if report["exact"]
                             else "parts from the book")]
    for e in report["series"]:
        of = "" if e["epochs"] >= e["published"] else " (of {} published)".format(e["published"])
        if e["parted"] is None:
            lines.append("    {}: {}/{} epochs agree{}".format(e["name"], e["agree"], e["epochs"], of))
        else:
            lines.append("    {}: {}/{} epochs agree{}; parts at epoch {}: ours {!r}, book {!r}".format(
                e["name"], e["agree"], e["epochs"], of, e["parted"], e["ours"], e["book"]))
    return lines
