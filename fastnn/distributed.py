"""Many networks at once: hyper-parameter searches and ensembles on Dask.

One network trains in seconds; a search over chapter 3's eta, lambda,
mini-batch size and epochs, or chapter 6's vote of five networks, trains
many.  This module hands each of those networks to a Dask worker as one
task, so the same code uses every core of a laptop (a ``LocalCluster``,
started and closed by the call) or every machine of a cluster (a scheduler
named by address, or ``FASTNN_SCHEDULER``)::

    from fastnn.distributed import search
    rows = search({"learning_rate": [0.1, 0.5, 2.0], "l2": [0.0, 5.0]},
                  X, y, validation_data=(X_val, y_val),
                  base={"sizes": [784, 30, 10], "epochs": 10, "seed": 0})

How it is reproducible: every run's seed is computed here, before anything
is sent, from the base seed, the run's parameters and its repeat index
(``run_seed``); each task trains on one thread.  The rows are therefore the
same whatever the number of workers, the order they finish in, a worker lost
and its task retried elsewhere, or ``client="serial"`` (every task in this
process, one after another: the reference and the way to debug).

What it costs: the data are scattered to every worker once per call
(``broadcast=True``), not once per task (and again only if a worker's death
took the cluster's last copy with it); a task carries only its
parameters, and returns a row of a few kilobytes (or, for ``ensemble``, the
trained network's arrays).

Needs the ``distributed`` extra: ``pip install 'fastnn[distributed]'``.
"""
import ast
import concurrent.futures
import contextlib
import hashlib
import inspect
import itertools
import logging
import numbers
import os
import random
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ._extras import require

require("dask", "distributed", "fastnn.distributed")
distributed = require("distributed", "distributed", "fastnn.distributed")

from . import _config, network3, progress  # noqa: E402
from ._best import best_index  # noqa: E402
from ._validation import check_positive_int  # noqa: E402
from .mlp import MLP  # noqa: E402

__all__ = ["search", "ensemble", "vote", "run_seed", "SERIAL", "CONNECT_TIMEOUT"]

#: ``client=SERIAL`` runs every task in this process, one after another.
SERIAL = "serial"
#: Seconds to wait for a scheduler named by address before giving up.
CONNECT_TIMEOUT = 10.0
#: Seconds to wait for a scheduler to have at least one worker.
WORKER_TIMEOUT = 60.0
#: Times a task is resubmitted if it raises outside the training itself (a
#: lost worker does not count: the scheduler reruns its tasks elsewhere), and
#: times a call scatters its data again after the cluster lost every copy.
RETRIES = 2

def _parameter_names():
    """The names a grid may use: ``MLP``'s constructor arguments and ``MLP.fit``'s,
    less the data."""
    init = [p for p in inspect.signature(MLP.__init__).parameters if p != "self"]
    fit = [p for p in inspect.signature(MLP.fit).parameters
           if p not in ("self", "X", "y", "validation_data")]
    return init, fit


# -- seeds ---------------------------------------------------------------------

def _canonical(value):
    """A value in a form whose repr is the same in every process and for
    equal values of numpy and Python types (0.5 and np.float64(0.5))."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return value


def run_seed(base_seed, params, repeat=0):
    """The seed of one run: a 63-bit integer from the SHA-256 of the base
    seed, the run's parameters (sorted by name, ``seed`` left out) and the
    repeat index.  Python's ``hash`` is salted per process, so it is not used.
    Parameters are described by their ``repr``: give values whose repr is
    stable (numbers, strings, lists, ``HalveOnPlateau``), not lambdas, if a
    search is to give the same seeds in another session."""
    described = sorted((str(k), _canonical(v)) for k, v in params.items() if k != "seed")
    text = repr((int(base_seed), described, int(repeat)))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") >> 1


def _check_seed(seed, where):
    if seed is None:
        return int(np.random.SeedSequence().entropy % (1 << 63))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError("{} must be a whole number >= 0 (or None), not {!r}".format(where, seed))
    return int(seed)


# -- the grid ------------------------------------------------------------------

def _combinations(param_grid, known):
    """Every combination of ``param_grid`` (a dict of lists, or a list of such
    dicts), in order: the last name varies fastest, as scikit-learn's
    ParameterGrid within one dict."""
    grids = [param_grid] if isinstance(param_grid, dict) else param_grid
    if not isinstance(grids, (list, tuple)) or not grids:
        raise ValueError("param_grid must be a non-empty dict {{name: [values]}} or a list of them, "
                         "not {!r}".format(param_grid))
    combos = []
    for grid in grids:
        if not isinstance(grid, dict):
            raise TypeError("param_grid must hold dicts {{name: [values]}}, not {!r}".format(grid))
        if not grid:
            raise ValueError("param_grid is empty: name at least one parameter and its values")
        for name, values in grid.items():
            if name not in known:
                raise ValueError("param_grid names {!r}, which is neither an MLP nor an MLP.fit "
                                 "argument; known: {}".format(name, ", ".join(sorted(known))))
            if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
                raise TypeError("param_grid[{!r}] must be a list of values, not {!r}".format(
                    name, values))
        # each list read once: a generator (or any one-pass iterable) gives its values here
        grid = {name: list(values) for name, values in grid.items()}
        for name, values in grid.items():
            if len(values) == 0:
                raise ValueError("param_grid[{!r}] holds no values: the grid has no runs".format(name))
        names = list(grid)
        for values in itertools.product(*(grid[name] for name in names)):
            combos.append(dict(zip(names, values)))
    return combos


def _plan(param_grid, base, repeats):
    """The runs of a search: for each, its grid parameters, the MLP and fit
    arguments, and its seed."""
    init_names, fit_names = _parameter_names()
    known = set(init_names) | set(fit_names)
    base = dict(base or {})
    unknown = sorted(set(base) - known)
    if unknown:
        raise ValueError("base names {}, not MLP or MLP.fit arguments; known: {}".format(
            ", ".join(map(repr, unknown)), ", ".join(sorted(known))))
    combos = _combinations(param_grid, known)
    repeats = check_positive_int(repeats, "repeats")
    base_seed = _check_seed(base.pop("seed", 0), "base['seed']")
    if "sizes" not in base and not all("sizes" in c for c in combos):
        raise ValueError("no layer sizes: give 'sizes' in base or in param_grid, e.g. "
                         "base={'sizes': [784, 30, 10]}")
    runs = []
    for params in combos:
        for repeat in range(repeats):
            settings = dict(base, **params)
            seed = run_seed(_check_seed(settings.pop("seed", base_seed), "param_grid's seed"),
                            params, repeat)
            init = {k: v for k, v in settings.items() if k in init_names}
            fit = {k: v for k, v in settings.items() if k in fit_names}
            runs.append((params, repeat, seed, init, fit))
    return runs


# -- where tasks run ------------------------------------------------------------

@contextlib.contextmanager
def _single_threaded():
    """One thread for BLAS and for the compiled kernels while a task runs: a
    worker is one core, and network3's results depend on its thread count."""
    saved = _config.thread_setting()
    _config.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        _config.set_num_threads(saved)


@contextlib.contextmanager
def _seeded_globals(seed):
    """Seed ``np.random`` and ``random`` (network3 draws its initial weights
    from ``np.random.normal``), restoring both afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed % (1 << 32))
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class _Serial(object):
    """Every task in this process, one after another."""

    def scatter(self, data):
        return data

    def run(self, fn, calls):
        return [fn(*args) for args in calls]


class _Dask(object):
    """Tasks on a ``distributed.Client``: data broadcast once to every worker,
    results put back in the order of the calls, whatever order they finish in.

    A worker's death can take the scattered data with it: the scheduler's
    active memory manager keeps only as many copies as there are workers
    waiting for them (one, if its cycle comes before the tasks are submitted,
    until the other workers fetch theirs; one again near the end of a call),
    so the only copy may be on the worker that dies.  The scheduler then
    cancels every task that needs the data, and a task resubmitted with the
    same data future is cancelled again at once ("lost dependencies").
    ``run`` therefore asks the scheduler, whenever a task comes back
    cancelled, whether the data it was given still exist anywhere; if not,
    the data are scattered again and the task (and each one after it that
    needed the lost copy) is resubmitted with the new future."""

    def __init__(self, client):
        self.client = client
        self.scattered = []    # every data future of this call, lost ones included
        self.data = {}         # id of a data future -> the data, to scatter again
        self.replaced = {}     # id of a data future the cluster lost -> its successor

    def scatter(self, data):
        # Clients made here send the data straight to the workers
        # (direct_to_workers), not through the scheduler: half the bytes
        # moved, and on a busy 2-core machine 0.2-0.4 s instead of 0.4-3 s
        # for MNIST.  A Client passed in keeps its own setting.
        [future] = self.client.scatter([data], broadcast=True, hash=False)
        self.scattered.append(future)
        self.data[id(future)] = data
        return future

    def _current(self, arg):
        """``arg``, or if it is a data future the cluster lost, its replacement."""
        while id(arg) in self.replaced:
            arg = self.replaced[id(arg)]
        return arg

    def _lost(self, future):
        """Has the cluster lost every copy of the scattered ``future``?"""
        if future.status != "finished":
            return True
        return not self.client.who_has([future]).get(future.key)

    def _rescatter_lost(self, args, may_scatter):
        """``args`` with each scattered data future the cluster has lost
        replaced by its successor, scattering the data again if no other task
        has yet; whether any was replaced, and whether any was scattered here.
        None for the arguments if data were lost and ``may_scatter`` is false."""
        new_args, replaced, renewed = [], False, False
        for arg in args:
            current = self._current(arg)
            if id(current) in self.data and self._lost(current):
                if not may_scatter:
                    return None, False, False
                fresh = self.scatter(self.data.pop(id(current)))
                self.replaced[id(current)] = fresh
                current, renewed = fresh, True
            replaced = replaced or current is not arg
            new_args.append(current)
        return tuple(new_args), replaced, renewed

    def run(self, fn, calls):
        """The results of ``fn(*args)`` for each of ``calls``; on a terminal
        (or with FASTNN_PROGRESS=1: see fastnn.progress) the dashboard's
        address and a bar over the finished runs on stderr."""
        calls = [tuple(args) for args in calls]
        futures = [self.client.submit(fn, *args, pure=False, retries=RETRIES) for args in calls]
        position = {future.key: i for i, future in enumerate(futures)}
        results = [None] * len(futures)
        bar = None
        if progress.enabled():
            try:
                link = self.client.dashboard_link
            except Exception:        # a scheduler without a dashboard
                link = None
            if link:
                print("Dask dashboard: {}".format(link), file=sys.stderr, flush=True)
            bar = progress.bar(len(futures), "runs", "run", leave=True)
        resubmitted = [0] * len(futures)
        rescattered = 0
        try:
            pending = distributed.as_completed(futures, loop=self.client.loop)
            for future in pending:
                i = position[future.key]
                try:
                    results[i] = future.result()
                except concurrent.futures.CancelledError:
                    # the cluster gave the task up: its data were lost with a
                    # worker (scatter them again: that is no fault of the task),
                    # or its worker died mid-run and dask's own retries did not
                    # take (run it again, a few times)
                    args, replaced, renewed = self._rescatter_lost(
                        calls[i], may_scatter=rescattered < RETRIES)
                    if args is None:      # lost, and scattered again too often
                        raise
                    if renewed:
                        rescattered += 1
                    elif not replaced:
                        if resubmitted[i] >= RETRIES:
                            raise
                        resubmitted[i] += 1
                    calls[i] = args
                    again = self.client.submit(fn, *args, pure=False, retries=RETRIES)
                    position[again.key] = i
                    futures.append(again)
                    pending.add(again)
                    continue
                if bar is not None:
                    bar.update(1)
        except BaseException:   # a member that raised, or Ctrl-C: leave no task behind
            self.client.cancel(futures)
            raise
        finally:
            if bar is not None:
                bar.close()
        return results

    def release(self):
        for future in self.scattered:
            future.release()
        self.scattered = []
        self.data = {}
        self.replaced = {}


def _cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def connect(address, timeout=CONNECT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address``, or
    ConnectionError if none answers within ``timeout`` seconds.  It talks to
    the workers directly; where they cannot be reached from here (only the
    scheduler can), pass ``client=distributed.Client(address)`` instead."""
    try:
        # the form first: a Client built on a malformed address fails, then
        # spends 20 s closing itself when it is collected
        distributed.comm.resolve_address(address)
    except (ValueError, TypeError) as exc:    # no port, an unknown protocol...
        raise ValueError("client {!r} is not a Dask scheduler address like 'tcp://host:8786' "
                         "({}: {})".format(address, type(exc).__name__, exc)) from None
    except OSError:
        pass                 # a host that does not resolve: Client says so below
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False,
                                  direct_to_workers=True)
    except OSError as exc:   # TimeoutError and refused connections alike
        raise ConnectionError("no Dask scheduler answered at {!r} within {:g} s; is `dask scheduler` "
                              "running there (and FASTNN_SCHEDULER right)? ({}: {})".format(
                                  address, timeout, type(exc).__name__, exc)) from None


def _check_main_guard():
    """Refuse, in one line, to start local worker processes from a script's
    top-level code outside ``if __name__ == "__main__":``.  Each worker
    starts by importing the script again, which would start workers of its
    own: Python refuses that in every worker, each with a traceback.  The
    script's source tells whether the line that called us sits inside such a
    block; without a script file (a notebook, ``python -c``) nothing is checked."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>"
                                     and frame.f_globals is getattr(main, "__dict__", None)):
        frame = frame.f_back
    if frame is None or not path:
        return
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) \
                and node.lineno <= frame.f_lineno <= node.end_lineno:
            return
    raise RuntimeError("{}, line {}: a search on local worker processes must run under "
                       "`if __name__ == \"__main__\":` (each worker imports the script again); "
                       "indent the call there".format(path, frame.f_lineno))


def _is_main_test(test):
    """Is ``test`` the expression ``__name__ == "__main__"`` (either way round)?"""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(a, ast.Name) and a.id == "__name__" for a in sides) and \
        any(isinstance(a, ast.Constant) and a.value == "__main__" for a in sides)


@contextlib.contextmanager
def _runner(client, timeout):
    """Where the tasks of one call run: see ``search``'s ``client``."""
    if isinstance(client, str) and client == SERIAL:
        yield _Serial()
        return
    owned = []
    try:
        if client is None:
            address = os.environ.get("FASTNN_SCHEDULER", "").strip()
            if address:
                client = connect(address, timeout)
            else:
                _check_main_guard()
                # the scheduler's HTTP server on a free port of localhost, so
                # that two searches at once never compete for Dask's 8787
                cluster = distributed.LocalCluster(
                    n_workers=_cores(), threads_per_worker=1, processes=True,
                    dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
                owned.append(cluster)
                client = distributed.Client(cluster, set_as_default=False, direct_to_workers=True)
            owned.append(client)
        elif isinstance(client, str):
            client = connect(client, timeout)
            owned.append(client)
        elif not isinstance(client, distributed.Client):
            raise TypeError("client must be None, 'serial', a scheduler address or a "
                            "distributed.Client, not {!r}".format(client))
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError:
            raise ConnectionError("the Dask scheduler at {!r} found no worker within {:g} s: start "
                                  "some with `dask worker <address>`".format(
                                      client.scheduler.address, WORKER_TIMEOUT)) from None
        runner = _Dask(client)
        try:
            yield runner
        finally:
            runner.release()
    finally:
        for thing in reversed(owned):   # the client before its cluster
            thing.close()


# -- searches --------------------------------------------------------------------

def _train_run(data, init, fit, seed):
    """One run of a search, on a worker: a new MLP trained on the scattered
    data; the row's figures, or the error that stopped it."""
    X, y, X_val, y_val = data
    started = time.perf_counter()
    row = dict(best_val_accuracy=None, best_epoch=None, final_val_accuracy=None, history=[],
               error=None)
    try:
        with _single_threaded():
            net = MLP(seed=seed, **init)
            history = net.fit(X, y, validation_data=(X_val, y_val), **fit)
        accuracies = [record["val_accuracy"] for record in history]
        if accuracies:
            best = best_index(accuracies)   # the trainer's rule: of tied epochs, the later
            row.update(best_val_accuracy=accuracies[best], best_epoch=history[best]["epoch"],
                       final_val_accuracy=accuracies[-1])
        row["history"] = history
    except Exception as exc:   # a bad combination: reported in its row, the others go on
        row["error"] = "{}: {}".format(type(exc).__name__, exc)
    row["seconds"] = time.perf_counter() - started
    return row


def search(param_grid, X, y, validation_data, base=None, repeats=1, client=None,
           timeout=CONNECT_TIMEOUT):
    """Train one ``fastnn.MLP`` per combination of ``param_grid`` (and per
    repeat), each as a Dask task, and return one row per run.

    ``param_grid`` is a dict ``{name: [values, ...]}`` (or a list of such
    dicts, each expanded on its own); ``base`` is a dict of the settings
    every run shares.  Both name ``MLP`` constructor arguments and
    ``MLP.fit`` arguments alike: ``sizes``, ``activation``, ``output``,
    ``cost``, ``dtype``, ``seed``, ``epochs``, ``batch_size``,
    ``learning_rate``, ``l2``, ``l1``, ``momentum``, ``early_stopping``, ...
    ``sizes`` must be given in one of them.  ``base["seed"]`` (default 0) is
    the base seed; a ``seed`` in the grid replaces it for its runs.

    Each row is a dict: the grid's parameters of that run, then ``seed``
    (the one given to ``MLP``), ``repeat``, ``best_val_accuracy`` and
    ``best_epoch`` (the later of tied epochs, as the trainer counts a tie as
    a new best), ``final_val_accuracy``, ``seconds``
    (on the worker), ``history`` (``MLP.fit``'s records) and ``error``
    (None, or ``"ExceptionType: message"`` of a run that failed; its
    figures are then None).  Rows come in the grid's order, repeats
    together.

    ``client``: ``None`` starts a ``distributed.LocalCluster`` of one
    single-threaded worker process per core and closes it at the end, unless
    the environment variable ``FASTNN_SCHEDULER`` holds a scheduler address
    (``tcp://host:8786``), which is then used; a scheduler address; any
    ``distributed.Client`` (left open); or ``"serial"``.  A scheduler that
    does not answer within ``timeout`` seconds raises ConnectionError.
    Bad grid names, an empty grid or missing sizes raise ValueError before
    anything is sent.
    """
    runs = _plan(param_grid, base, repeats)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a pair (X_val, y_val)")
    data = (np.asarray(X), np.asarray(y), np.asarray(validation_data[0]),
            np.asarray(validation_data[1]))
    with _runner(client, timeout) as runner:
        shared = runner.scatter(data)
        results = runner.run(_train_run, [(shared, init, fit, seed) for _, _, seed, init, fit in runs])
    rows = []
    for (params, repeat, seed, _, _), result in zip(runs, results):
        row = dict(params, seed=seed, repeat=repeat)
        row.update(result)
        rows.append(row)
    return rows


# -- ensembles -------------------------------------------------------------------

def _train_member(data, make_network, seed, train):
    """One member of an ensemble, on a worker: built by ``make_network(seed)``
    under seeded global generators, trained by its own method, returned."""
    training_data, validation_data = data
    with _single_threaded():
        with _seeded_globals(seed):
            net = make_network(seed)
        if isinstance(net, MLP):
            X, y = training_data
            net.fit(X, y, validation_data=validation_data, **train)
        elif isinstance(net, network3.Network):
            args = dict(verbose=False, test_data=None, mini_batch_size=net.mini_batch_size)
            args.update(train)
            net.history = net.SGD(training_data, validation_data=validation_data, **args)
        else:
            raise TypeError("make_network returned {!r}; it must return a fastnn.MLP or a "
                            "fastnn.network3.Network".format(net))
    return net


def ensemble(make_network, n, training_data, validation_data=None, seed=0, client=None,
             timeout=CONNECT_TIMEOUT, **train):
    """Train ``n`` networks, each as a Dask task, and return them (a list, in
    member order).

    ``make_network(member_seed)`` builds one untrained network, a
    ``fastnn.MLP`` or a ``fastnn.network3.Network``; it runs on the worker
    with ``np.random`` and ``random`` seeded by ``member_seed`` (network3's
    layers draw their initial weights from ``np.random``), so pass the seed
    on (``MLP(..., seed=member_seed)``, ``Network(..., seed=member_seed)``
    for dropout).  The member seeds come from ``run_seed(seed, {"member": i})``.
    ``training_data`` and ``validation_data`` are pairs ``(x, y)``;
    ``train`` holds the network's own training arguments: ``MLP.fit``'s
    (``epochs``, ``learning_rate``, ...) or network3 ``SGD``'s (``epochs``,
    ``eta``, ``lmbda``, ...; printing is off unless ``verbose=True``).
    network3 members keep SGD's figures in ``net.history``.  ``client`` and
    ``timeout`` as in ``search``.  A member that fails raises here.
    """
    n = check_positive_int(n, "n")
    seed = _check_seed(seed, "seed")
    if not callable(make_network):
        raise TypeError("make_network must be a callable seed -> network, not {!r}".format(make_network))
    seeds = [run_seed(seed, {"member": i}) for i in range(n)]
    with _runner(client, timeout) as runner:
        shared = runner.scatter((training_data, validation_data))
        return runner.run(_train_member, [(shared, make_network, s, train) for s in seeds])


def vote(networks, X):
    """The majority vote of ``networks`` (MLPs or network3 networks, anything
    with ``predict``) on the rows of ``X``: for each row, the class most of
    them predict, the smallest such class at a tie.  Chapter 6's ensemble."""
    networks = list(networks)
    if not networks:
        raise ValueError("vote needs at least one network")
    predictions = np.stack([np.asarray(net.predict(X)) for net in networks])
    counts = np.stack([(predictions == c).sum(axis=0) for c in range(int(predictions.max()) + 1)])
    return np.argmax(counts, axis=0)
