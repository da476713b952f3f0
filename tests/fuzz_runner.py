"""The child side of the property-based battery (test_fuzz.py).

A child Python reads a pickled list of cases, runs each on both backends
and writes one JSON line per case: a "start" line before it runs (so a
crash or a hang is pinned on the case that caused it) and a verdict after.

Verdicts:

* ``ok``: both backends returned equal results, or both raised one of our
  exceptions with a message naming an argument or a file;
* ``wrong``: the results differ, or one backend raised while the other
  returned;
* ``raw``: an exception that is not ours (IndexError, numpy's own errors,
  RecursionError...) or whose message names none of the case's arguments.

A case is a dict: ``target`` (a function ``run_<target>`` below), ``names``
(the words an error message may name), ``tolerance`` (normwise, for float
results; default 1e-6), and the target's own fields.  The
runners get ``backend`` and return something comparable: arrays, numbers,
lists, tuples and dicts of them.
"""
import faulthandler
import json
import os
import pickle
import random
import re
import resource
import sys
import tempfile
import warnings

import numpy as np

import fastnn
from fastnn import MLP, datasets, network, network2, network3, reference, trainer
from fastnn._core import _dense

BACKENDS = ("cython", "numpy")
CHILD_MEMORY = 3 << 30      # bytes of address space
OUR_TYPES = (ValueError, TypeError, fastnn.TrainingDiverged, FileNotFoundError, PermissionError,
             IsADirectoryError, NotADirectoryError, OSError, MemoryError)


# -- classification ------------------------------------------------------------

def ours(exc, names):
    """Is ``exc`` an exception of ours, naming one of ``names``?"""
    kind = type(exc)
    if kind not in OUR_TYPES and not kind.__module__.startswith("fastnn"):
        return False                  # IndexError, AxisError, JSONDecodeError, UnicodeError...
    text = str(exc)
    return any(re.search(r"(?<![A-Za-z_]){}(?![A-Za-z_])".format(re.escape(n)), text) for n in names)


def same(a, b, tol):
    """Equal results, floats within ``tol`` of the largest magnitude (normwise)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b))
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        return np.array_equal(a, b)
    a, b = np.atleast_1d(a).astype(np.float64), np.atleast_1d(b).astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    fa, fb = np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)
    if not np.array_equal(np.isinf(fa), np.isinf(fb)) or not np.array_equal(fa[np.isinf(fa)], fb[np.isinf(fb)]):
        return False
    fa[np.isinf(fa)] = 0.0
    fb[np.isinf(fb)] = 0.0
    scale = max(1.0, float(np.max(np.abs(fb))) if fb.size else 0.0)
    return bool(np.all(np.abs(fa - fb) <= tol * scale))


def describe(exc):
    return "{}: {}".format(type(exc).__name__, str(exc)[:300])


def run_case(case):
    """(verdict, detail) for one case."""
    runner = globals()["run_" + case["target"]]
    names = case["names"]
    outcomes = []
    for backend in case.get("backends", BACKENDS):
        try:
            outcomes.append(("value", runner(case, backend)))
        except Exception as exc:         # classified below; BaseException (KeyboardInterrupt) is not ours to eat
            outcomes.append(("error", exc))
    if case.get("oracle"):
        # the second backend is an unvalidated oracle (fastnn.reference): only
        # the first is judged, and compared with the oracle when both return
        if outcomes[0][0] == "error" or outcomes[1][0] == "error":
            outcomes = outcomes[:1]
    for kind, value in outcomes:
        if kind == "error" and not ours(value, names):
            return "raw", describe(value)
    kinds = [k for k, _ in outcomes]
    if len(set(kinds)) > 1:
        return "wrong", "one backend raised, the other returned: " + "; ".join(
            describe(v) if k == "error" else "returned" for k, v in outcomes)
    if kinds[0] == "value" and len(outcomes) > 1:
        if not same(outcomes[0][1], outcomes[1][1], case.get("tolerance", 1e-6)):
            return "wrong", "the backends' results differ"
    return "ok", describe(outcomes[0][1]) if kinds[0] == "error" else "returned"


# -- the entry points ----------------------------------------------------------

def seeded():
    np.random.seed(1234)
    random.seed(1234)


def mlp_for(case, backend):
    return MLP(case["sizes"], cost=case.get("cost", "cross_entropy"), dtype=case.get("dtype", np.float64),
               backend=backend, seed=case.get("seed", 0))


def parameters(net):
    return [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]


def run_mlp_init(case, backend):
    net = MLP(case["sizes"], cost=case["cost"], init=case["init"], dtype=case["dtype"],
              backend=backend, seed=case["seed"])
    if case["seed"] is None:
        return [w.shape for w in net.weights], [b.shape for b in net.biases]
    return parameters(net)


def run_mlp_method(case, backend):
    net = mlp_for(case, backend)
    method, kw = case["method"], dict(case["kwargs"])
    if method == "fit":
        history = net.fit(case["X"], case["y"], **kw)
        return [{k: v for k, v in r.items() if k != "seconds"} for r in history], parameters(net)
    if method in ("predict", "predict_proba"):
        return getattr(net, method)(case["X"])
    if method == "score":
        return net.score(case["X"], case["y"])
    if method == "cost_of":
        return net.cost_of(case["X"], case["y"], **kw)
    if method == "save":
        folder = case["tmp"] + "/" + backend
        os.makedirs(folder, exist_ok=True)
        name = case["filename"]
        target = os.path.join(folder, name) if isinstance(name, str) and name else name
        net.save(target)
        return parameters(MLP.load(target))
    raise AssertionError("unknown method " + method)


def write_file(case, backend, name="net.json"):
    folder = os.path.join(case["tmp"], backend)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(case["content"])
    return path


def run_mlp_load(case, backend):
    net = MLP.load(write_file(case, backend), backend=backend)
    return net.sizes, parameters(net), net.predict_proba(np.full((2, net.sizes[0]), 0.5))


def run_network2_load(case, backend):
    net = network2.load(write_file(case, backend), backend=backend)
    return net.sizes, net.weights, net.biases, net.feedforward(np.full((net.sizes[0], 1), 0.5))


def book_net(case, backend):
    seeded()
    if case["module"] == "network":
        return network.Network(case["sizes"], backend=backend)
    cost = case["cost"]
    cost = getattr(network2, cost) if isinstance(cost, str) and hasattr(network2, cost) else cost
    return network2.Network(case["sizes"], cost=cost, backend=backend)


def run_book(case, backend):
    net = book_net(case, backend)
    if case["method"] == "init":
        return net.weights, net.biases
    args = [_copy(a) for a in case["args"]]
    seeded()
    out = getattr(net, case["method"])(*args, **case["kwargs"])
    return out, net.weights, net.biases


def _copy(a):
    """Each backend gets its own copy of the data (SGD shuffles lists in place)."""
    if isinstance(a, list):
        return [_copy(x) for x in a]
    if isinstance(a, tuple):
        return tuple(_copy(x) for x in a)
    return a.copy() if isinstance(a, np.ndarray) else a


ACTIVATIONS = {"sigmoid": network3.sigmoid, "ReLU": network3.ReLU, "linear": network3.linear,
               "tanh": network3.tanh}


def net3_layers(case):
    np.random.seed(1234)
    layers = []
    for kind, kw in case["layers"]:
        kw = dict(kw)
        if "activation_fn" in kw:
            act = kw["activation_fn"]
            kw["activation_fn"] = ACTIVATIONS.get(act, act) if isinstance(act, str) else act
        layers.append(getattr(network3, kind)(**kw))
    return layers


def run_network3(case, backend):
    net = network3.Network(net3_layers(case), case["mini_batch_size"], dtype=case.get("dtype"),
                           backend=backend, seed=0)
    method = case["method"]
    if method == "init":
        return [np.array(p) for p in net.params]
    if method in ("feedforward", "predict"):
        return getattr(net, method)(_copy(case["x"]))
    if method == "accuracy":
        return net.accuracy(_copy(case["data"]))
    if method == "SGD":
        kw = dict(case["kwargs"], verbose=False)
        out = net.SGD(_copy(case["training"]), 1, case["sgd_mini_batch_size"], case["eta"],
                      _copy(case["validation"]), _copy(case["test"]), **kw)
        return out, [np.array(p) for p in net.params]
    raise AssertionError("unknown method " + method)


def run_kernel(case, backend):
    module = _dense if backend == "cython" else reference
    args = [_copy(a) for a in case["args"]]
    if case["function"] == "backprop":
        cost = case["cost"]
        cost = getattr(fastnn, cost) if isinstance(cost, str) and hasattr(fastnn, cost) else cost
        # the kernels take the network's description, a trainer.Spec (its
        # constructor checks the cost)
        args.append(trainer.Spec("sigmoid", "sigmoid", cost))
    return getattr(module, case["function"])(*args)


def run_datasets(case, backend):
    folder = os.path.join(case["tmp"], "data")
    os.makedirs(folder, exist_ok=True)
    for name, content in case["files"].items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)
    where = os.path.join(folder, case["path"]) if case["path"] else folder
    if case["function"] == "read_idx":
        return datasets.read_idx(where)
    datasets.clear_cache()
    return getattr(datasets, case["function"])(where)


def write_files(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, content in files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)


def run_history_load(case, backend):
    """``history.load`` of a file; what it returns must be a history the
    rest of the module can use (its rows and curves)."""
    from fastnn import history
    write_files(case["tmp"], case["files"])
    loaded = history.load(os.path.join(case["tmp"], case["path"]))
    history.rows(loaded)
    history.curves(loaded)
    return history.to_csv(loaded)


class NotOurs(Exception):
    """A result that breaks the command's contract: classified as raw."""


def run_cli(case, backend):
    """``fastnn ARGV`` in this process ("{tmp}" in ARGV names the case's
    folder, where ``files`` are written first): it must exit 0, or 2 with one
    line on stderr, and a failed run must not leave the --out folder behind."""
    import contextlib
    import io
    from fastnn import cli
    write_files(case["tmp"], case["files"])
    argv = [a.replace("{tmp}", case["tmp"]) for a in case["argv"]]
    out_dir = os.path.join(case["tmp"], "out")
    existed = os.path.exists(out_dir)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = cli.main(argv)
    lines = [l for l in stderr.getvalue().splitlines() if "warning:" not in l]
    if status == 2 and (len(lines) != 1 or "error:" not in lines[0]):
        raise NotOurs("exit status 2 with stderr {!r}".format(stderr.getvalue()[-300:]))
    if status not in (0, 2) or "Traceback" in stderr.getvalue():
        raise NotOurs("exit status {} with stderr {!r}".format(status, stderr.getvalue()[-300:]))
    if status and not existed and os.path.exists(out_dir):
        raise NotOurs("a failed run left {} behind".format(os.listdir(out_dir)))
    if status == 2:
        raise ValueError(lines[0])     # judged as an error of ours naming its argument
    return status


def run_estimator(case, backend):
    from fastnn.sklearn import BookMLPClassifier
    model = BookMLPClassifier(**case["params"]).fit(case["X"], case["y"])
    return model.predict(case["X"]).tolist()


def run_search(case, backend):
    from fastnn import distributed
    grid = case["grid"]
    if isinstance(grid, dict):      # "gen:" values become one-pass generators, which cannot be pickled
        grid = {name: (v for v in values[1]) if isinstance(values, tuple) and values[:1] == ("gen",)
                else values for name, values in grid.items()}
    rows = distributed.search(grid, case["X"], case["y"], (case["X"], case["y"]), base=case["base"],
                              client=case["client"], timeout=2)
    return [(row["error"] is None, row.get("final_val_accuracy")) for row in rows]


def run_selftest(case, backend):
    """The driver's own test: a case that returns, segfaults or hangs."""
    if case["do"] == "segfault":
        import ctypes
        ctypes.string_at(0)
    elif case["do"] == "hang":
        while True:
            pass
    return 1.0


# -- the child's main loop -----------------------------------------------------

def main(cases_path, results_path, first, case_seconds):
    """Run cases ``first``... of the pickled list; a case still running after
    ``case_seconds`` ends the process (faulthandler's watchdog thread fires
    even while the main thread is inside a kernel without the GIL)."""
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    # A case asking for gigabytes must fail with a MemoryError here, not
    # take the memory of a machine shared with others.
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    with open(cases_path, "rb") as f:
        cases = pickle.load(f)
    with open(results_path, "w") as out, tempfile.TemporaryDirectory() as tmp:
        for i in range(first, len(cases)):
            out.write(json.dumps({"i": i, "start": True}) + "\n")
            out.flush()
            case = dict(cases[i], tmp=os.path.join(tmp, str(i)))
            faulthandler.dump_traceback_later(case_seconds, exit=True)
            verdict, detail = run_case(case)
            faulthandler.cancel_dump_traceback_later()
            out.write(json.dumps({"i": i, "verdict": verdict, "detail": detail}) + "\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
