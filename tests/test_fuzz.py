"""A property-based battery over fastnn's public entry points and the
compiled kernels' ``def`` functions.

Hypothesis generates the cases (odd dtypes and shapes, NaN, inf and huge
values, odd scalars, ragged lists, hostile files); they run in batches in a
child Python (``fuzz_runner.py``), so a segfault or a hang fails the test,
naming the case, instead of ending the run.  Each case runs on both backends
and must give equal results, or on both an exception of ours whose message
names an argument or the file (see ``fuzz_runner.run_case``).

Budget: ``FASTNN_FUZZ_EXAMPLES`` cases per test (default 600, half that for
the two file loaders: 4,200 cases, about a minute on a 2-core machine),
``FASTNN_FUZZ_SEED`` for another sample than CI's fixed one.  With
``FASTNN_FUZZ_REPORT=<file>`` each test appends its tally (cases, crashes,
hangs, wrong results, raw errors, cases where both backends returned equal
results) as a JSON line.
"""
import gzip
import json
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from helpers import fastnn_env  # noqa: E402

from fastnn import activations  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "600"))
SEED = int(os.environ.get("FASTNN_FUZZ_SEED", "0"))
BATCH = 200
CASE_SECONDS = 20          # a case that runs longer than this hangs

NAN, INF = float("nan"), float("inf")
TOLERANCE = {"float64": 1e-6, "float32": 2e-3}    # normwise, between the two backends


# -- running cases in a child ---------------------------------------------------

def generate(strategy, n):
    """``n`` cases drawn by hypothesis (fewer if it runs out of distinct ones)."""
    cases = []

    @settings(max_examples=n, database=None, derandomize=(SEED == 0), deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case):
        cases.append(case)
    if SEED:
        collect = hypothesis.seed(SEED)(collect)
    collect()
    return cases


def run_battery(name, cases):
    """Run ``cases`` in children; fail listing every case that crashed, hung,
    disagreed between backends or raised a raw error."""
    tally = {"cases": len(cases), "crashes": 0, "hangs": 0, "wrong": 0, "raw": 0,
             "equal results": 0}
    failures = {}       # one example and a count per kind of failure
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(cases), BATCH):
            batch = cases[start:start + BATCH]
            for i, verdict, detail in run_batch(batch, tmp):
                if verdict == "ok":
                    tally["equal results"] += detail == "returned"
                    continue
                tally[{"crash": "crashes", "hang": "hangs"}.get(verdict, verdict)] += 1
                kind = re.sub(r"\d+", "N", "{}: {}".format(verdict, detail))[:100]
                example, count = failures.get(kind, (None, 0))
                failures[kind] = (example or "{}: {}\n  case: {}".format(verdict, detail, shorten(batch[i])),
                                  count + 1)
    report = os.environ.get("FASTNN_FUZZ_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(json.dumps(dict(tally, test=name, seed=SEED)) + "\n")
    assert not failures, "{} of {} cases failed ({}), {} kinds of failure:\n{}".format(
        sum(n for _, n in failures.values()), len(cases), tally, len(failures),
        "\n".join("[{} like this] {}".format(n, example) for example, n in failures.values()))


def run_batch(cases, tmp):
    """Yield (index, verdict, detail) for each case, restarting the child after
    a crash or a hang so that every case runs."""
    cases_path = os.path.join(tmp, "cases.pkl")
    with open(cases_path, "wb") as f:
        pickle.dump(cases, f)
    first = 0
    while first < len(cases):
        results_path = os.path.join(tmp, "results.jsonl")
        if os.path.exists(results_path):
            os.unlink(results_path)           # each child writes its own
        command = [sys.executable, "-X", "faulthandler", os.path.join(HERE, "fuzz_runner.py"),
                   cases_path, results_path, str(first), str(CASE_SECONDS)]
        env = fastnn_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=30 + CASE_SECONDS * (len(cases) - first) / 10, cwd=tmp)
            stderr = done.stderr
            ended = None if not done.returncode else "hang" if "Timeout (" in stderr else "crash"
        except subprocess.TimeoutExpired as e:
            output = e.stderr or b""
            ended, stderr = "hang", output.decode(errors="replace") if isinstance(output, bytes) else output
        last = first - 1
        started = None
        if os.path.exists(results_path):
            with open(results_path) as f:
                for line in f:
                    if not line.endswith("\n"):
                        break
                    record = json.loads(line)
                    if "start" in record:
                        started = record["i"]
                    else:
                        last = record["i"]
                        yield last, record["verdict"], record["detail"]
        if ended is None:
            assert last == len(cases) - 1, "the child stopped early:\n" + stderr[-2000:]
            return
        culprit = started if started is not None and started > last else last + 1
        yield culprit, ended, stderr.strip()[-600:] or "(no output)"
        first = culprit + 1


def shorten(case):
    text = repr({k: v for k, v in case.items() if k != "names"})
    return text if len(text) < 1500 else text[:1500] + "..."


# -- strategies: values ---------------------------------------------------------

ODD_SCALARS = [None, True, False, 0, 1, -1, 2, 1.5, -0.5, NAN, INF, -INF, 10**20, 2**31, 2**63,
               "3", "", b"x", 1e-300, 1e300, np.float32(1.0), np.int64(2), np.bool_(True),
               [1], (2,), {}, np.array([1.0, 2.0])]
odd_scalar = st.one_of(st.sampled_from(ODD_SCALARS), st.integers(-3, 40),
                       st.floats(allow_nan=True, allow_infinity=True))
SPECIAL = [NAN, INF, -INF, 1e300, -1e300, 1e-310, 3.5e38, -0.0]


def maybe(good, bad, odds=3):
    """``good`` ``odds`` times in ``odds + 1``, else ``bad``.  (Repeating a
    strategy inside ``one_of`` does not weight it: hypothesis merges them.)"""
    return st.sampled_from([False] + [True] * odds).flatmap(lambda ok: good if ok else bad)


@st.composite
def float_array(draw, shape, dtypes=("float64", "float32")):
    """A float array of ``shape`` with values of ordinary size, now and then
    one special value (NaN, inf, huge, subnormal), in an odd layout."""
    a = draw(hnp.arrays(np.float64, shape, elements=st.floats(-4, 4)))
    if a.size and draw(st.integers(0, 4)) == 0:
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    with np.errstate(all="ignore"):
        a = a.astype(draw(st.sampled_from(dtypes)))
    layout = draw(st.sampled_from(["C", "C", "F", "strided"]))
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    return a


ODD_DTYPES = ["float16", "int64", "int8", "uint8", "bool", "complex128", ">f8", "U3", "float64", "float32"]
hostile_array = hnp.arrays(st.sampled_from(ODD_DTYPES).map(np.dtype),
                           hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
ragged = st.lists(st.one_of(st.lists(st.floats(-2, 2), max_size=3), st.floats(-2, 2)), max_size=4)


def matrix(n, width):
    """(n, width) inputs, or something hostile instead."""
    return maybe(float_array((n, width)), st.one_of(
        hostile_array, ragged, odd_scalar,
        float_array((n, width + 1)), float_array((n,)), float_array((0, width)),
        hnp.arrays(st.sampled_from(["int64", "uint8", "bool"]).map(np.dtype), (n, width))))


def labels(n, n_out):
    good = hnp.arrays(np.int64, (n,), elements=st.integers(0, n_out - 1))
    return maybe(good, st.one_of(
        hnp.arrays(np.int64, (n,), elements=st.integers(-2, n_out + 2)),
        hnp.arrays(np.float64, (n,), elements=st.sampled_from([0.0, 1.0, 0.5, NAN, INF])),
        float_array((n, n_out)), hnp.arrays(np.int64, (n + 1,), elements=st.integers(0, n_out - 1)),
        hostile_array, odd_scalar, ragged, st.just(np.array([10**20] * n, dtype=object))), odds=2)


small_sizes = st.lists(st.integers(1, 6), min_size=2, max_size=4)
odd_sizes = st.one_of(st.lists(odd_scalar, max_size=4), odd_scalar, st.lists(st.integers(-2, 4), max_size=4),
                      st.just([10**20, 2]), st.just([2, 2**31]), st.just([3, 2**40]))


# -- MLP -------------------------------------------------------------------------

MLP_NAMES = ["X", "y", "epochs", "batch_size", "learning_rate", "l2", "validation_data",
             "validation X", "validation y", "sizes", "seed", "dtype", "cost", "init", "backend",
             "filename", "weights", "biases", "training diverged", "net.json"]


@st.composite
def mlp_init_cases(draw):
    return {"target": "mlp_init", "names": MLP_NAMES,
            "sizes": draw(maybe(small_sizes, odd_sizes, 2)),
            "cost": draw(maybe(st.sampled_from(["cross_entropy", "quadratic"]), odd_scalar)),
            "init": draw(maybe(st.sampled_from(["default", "large"]), odd_scalar)),
            "dtype": draw(maybe(st.sampled_from(["float64", "float32"]),
                                st.one_of(odd_scalar, st.sampled_from(ODD_DTYPES)))),
            "seed": draw(maybe(st.integers(0, 2**32), odd_scalar))}


epochs = maybe(st.integers(0, 2), st.sampled_from([None, True, -1, 1.5, "1", NAN, INF, [1]]))


@st.composite
def mlp_method_cases(draw):
    sizes = draw(small_sizes)
    n = draw(st.integers(1, 12))
    method = draw(st.sampled_from(["fit", "fit", "predict", "predict_proba", "score", "cost_of", "save"]))
    case = {"target": "mlp_method", "names": MLP_NAMES, "sizes": sizes, "method": method,
            "dtype": draw(st.sampled_from(["float64", "float32"])),
            "cost": draw(st.sampled_from(["cross_entropy", "quadratic"])),
            "X": draw(matrix(n, sizes[0])), "y": draw(labels(n, sizes[-1])), "kwargs": {}}
    case["tolerance"] = TOLERANCE[case["dtype"]]
    if method == "fit":
        nv = draw(st.integers(1, 5))
        case["kwargs"] = draw(st.fixed_dictionaries({}, optional={
            "epochs": epochs,
            "batch_size": maybe(st.integers(1, 15), odd_scalar),
            "learning_rate": maybe(st.floats(0, 5), odd_scalar),
            "l2": maybe(st.floats(0, 5), odd_scalar),
            "shuffle": st.booleans(), "monitor_training": st.booleans(),
            "validation_data": maybe(st.tuples(matrix(nv, sizes[0]), labels(nv, sizes[-1])),
                                     st.one_of(odd_scalar, st.tuples(matrix(nv, sizes[0])))),
        }))
    elif method == "cost_of":
        case["kwargs"] = draw(st.fixed_dictionaries({}, optional={"l2": maybe(st.floats(0, 5), odd_scalar)}))
    elif method == "save":
        case["filename"] = draw(maybe(st.just("net.json"), st.sampled_from(
            ["", ".", "sub/net.json", "missing/dir/net.json", None, 3, b"net.json", "net\0.json"])))
    return case


def json_network():
    """JSON texts shaped like a saved network, damaged in odd ways."""
    value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(),
                                   st.text(max_size=4)),
                         lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                 st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                         max_leaves=8)

    @st.composite
    def build(draw):
        sizes = draw(maybe(small_sizes, odd_sizes, 2))
        good = isinstance(sizes, list) and all(isinstance(s, int) and 0 < s < 8 for s in sizes) and len(sizes) > 1
        data = {}
        if good:
            rng = np.random.default_rng(draw(st.integers(0, 9)))
            data = {"sizes": sizes,
                    "weights": [rng.normal(size=(y, x)).tolist() for x, y in zip(sizes[:-1], sizes[1:])],
                    "biases": [rng.normal(size=(y, 1)).tolist() for y in sizes[1:]],
                    "cost": draw(st.sampled_from(["CrossEntropyCost", "QuadraticCost"]))}
        else:
            data = {"sizes": sizes}
        for key in draw(st.lists(st.sampled_from(["sizes", "weights", "biases", "cost", "dtype"]),
                                 max_size=2, unique=True)):
            data[key] = draw(st.one_of(value, st.sampled_from(["float32", "float16", "int8", "f8", "O"])))
        if draw(st.booleans()) and good:
            data["dtype"] = draw(st.sampled_from(["float32", "float64"]))
        text = json.dumps(data, allow_nan=True, default=repr)
        cut = draw(st.sampled_from([None, None, None, "truncate", "deep", "bytes"]))
        if cut == "truncate":
            text = text[:draw(st.integers(0, max(0, len(text) - 1)))]
        elif cut == "deep":
            text = "[" * 50000 + "]" * 50000
        raw = text.encode()
        if cut == "bytes":
            raw = b"\xff\xfe" + raw
        return raw
    return build()


@st.composite
def load_cases(draw, target):
    return {"target": target, "names": ["net.json"], "content": draw(json_network())}


# -- the book's networks -----------------------------------------------------------

BOOK_NAMES = ["training_data", "test_data", "evaluation_data", "data", "epochs", "mini_batch_size",
              "eta", "lmbda", "n", "mini_batch", "backprop", "feedforward", "sizes", "cost",
              "net.weights", "net.biases", "training diverged", "monitor_evaluation_cost/accuracy",
              "convert"]


def column(width):
    return maybe(float_array((width, 1)), st.one_of(float_array((width,)), float_array((width + 1, 1)),
                                                      hostile_array, odd_scalar, ragged), odds=6)


def pairs(n_in, n_out, kind):
    """A list of (x, y) pairs as the book's loaders give: y a vector or a label."""
    y = column(n_out) if kind == "vector" else maybe(st.integers(0, n_out - 1), odd_scalar, 6)
    pair = maybe(st.tuples(column(n_in), y), st.one_of(odd_scalar, st.tuples(column(n_in)),
                                                       st.lists(column(n_in), min_size=2, max_size=2)), 8)
    return maybe(st.lists(pair, min_size=1, max_size=8),
                 st.one_of(st.just([]), odd_scalar, st.tuples(pair, pair), float_array((3, n_in))), 4)


@st.composite
def book_cases(draw):
    module = draw(st.sampled_from(["network", "network2"]))
    if draw(st.integers(0, 7)) == 0:        # the constructor alone, with odd arguments
        return {"target": "book", "names": BOOK_NAMES, "module": module, "method": "init",
                "sizes": draw(maybe(small_sizes, odd_sizes, 1)),
                "cost": draw(maybe(st.sampled_from(["CrossEntropyCost", "QuadraticCost"]), odd_scalar, 1)),
                "args": [], "kwargs": {}}
    sizes = draw(small_sizes)
    n_in, n_out = sizes[0], sizes[-1]
    methods = ["feedforward", "SGD", "SGD", "update_mini_batch", "backprop"]
    methods += ["evaluate"] if module == "network" else ["accuracy", "total_cost"]
    method = draw(st.sampled_from(methods))
    eta = maybe(st.floats(0, 4), odd_scalar)
    kwargs = {}
    if method == "feedforward":
        args = [draw(maybe(float_array((n_in, 1)), st.one_of(float_array((n_in, draw(st.integers(0, 3)))),
                                                              hostile_array, odd_scalar, ragged)))]
    elif method == "SGD":
        args = [draw(pairs(n_in, n_out, "vector")), draw(epochs),
                draw(maybe(st.integers(1, 10), odd_scalar)), draw(eta)]
        evaluation = draw(st.one_of(st.none(), pairs(n_in, n_out, "label")))
        if module == "network":
            kwargs = {"test_data": evaluation}
        else:
            kwargs = draw(st.fixed_dictionaries({"evaluation_data": st.just(evaluation)}, optional={
                "lmbda": maybe(st.floats(0, 5), odd_scalar),
                "monitor_evaluation_cost": st.booleans(), "monitor_evaluation_accuracy": st.booleans(),
                "monitor_training_cost": st.booleans(), "monitor_training_accuracy": st.booleans()}))
    elif method == "update_mini_batch":
        args = [draw(pairs(n_in, n_out, "vector")), draw(eta)]
        if module == "network2":
            args += [draw(maybe(st.floats(0, 5), odd_scalar)), draw(maybe(st.integers(1, 100), odd_scalar))]
    elif method == "backprop":
        args = [draw(column(n_in)), draw(column(n_out))]
    elif method == "evaluate":
        args = [draw(pairs(n_in, n_out, "label"))]
    else:   # accuracy, total_cost: convert=True means vector targets for accuracy, labels for total_cost
        convert = draw(maybe(st.booleans(), odd_scalar, 6))
        vector = (convert is True) == (method == "accuracy")
        args = [draw(pairs(n_in, n_out, "vector" if vector else "label"))]
        if method == "total_cost":
            args.append(draw(maybe(st.floats(0, 5), odd_scalar)))
        kwargs = {"convert": convert}
    return {"target": "book", "names": BOOK_NAMES, "module": module, "sizes": sizes,
            "cost": draw(st.sampled_from(["CrossEntropyCost", "QuadraticCost"])),
            "method": method, "args": args, "kwargs": kwargs}


# -- network3 --------------------------------------------------------------------

NET3_NAMES = ["layer", "layers", "image_shape", "filter_shape", "filter", "poolsize", "n_in", "n_out", "p_dropout",
              "activation_fn", "mini_batch_size", "dtype", "backend", "seed", "training_data",
              "validation_data", "test_data", "data", "feedforward", "eta", "lmbda", "epochs",
              "data labels", "training_data labels", "values", "examples"]


@st.composite
def net3_cases(draw):
    m = draw(st.integers(1, 4))
    # the book's names for its four, and every hidden activation of the registry
    act = maybe(st.sampled_from(["sigmoid", "ReLU", "linear", "tanh"] + list(activations.HIDDEN)),
                odd_scalar, 6)
    p = maybe(st.sampled_from([0.0, 0.0, 0.5]), odd_scalar, 8)
    shape = draw(st.sampled_from(["conv", "fc", "softmax"]))
    if shape == "conv":
        c, side, f, k = draw(st.integers(1, 2)), draw(st.integers(4, 7)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        pool = draw(maybe(st.sampled_from([(1, 1), (2, 2)]), st.one_of(
            st.tuples(st.integers(-1, 9), st.integers(-1, 9)), odd_scalar), 6))
        image_shape = draw(maybe(st.just((m, c, side, side)), st.one_of(
            st.tuples(*[st.integers(-1, 8)] * 4), odd_scalar, st.tuples(st.integers(1, 4))), 6))
        filter_shape = draw(maybe(st.just((f, c, k, k)), st.one_of(
            st.tuples(*[st.integers(-1, 8)] * 4), odd_scalar), 6))
        try:
            out = (side - k + 1) // pool[0]
            n_conv = f * out * out
        except Exception:
            n_conv = 4
        n_conv = n_conv if n_conv > 0 else 1
        layers = [("ConvPoolLayer", {"image_shape": image_shape, "filter_shape": filter_shape,
                                     "poolsize": pool, "activation_fn": draw(act)}),
                  ("SoftmaxLayer", {"n_in": draw(maybe(st.just(n_conv), odd_scalar, 6)), "n_out": 3})]
        n_in, n_out = c * side * side, 3
    else:
        n_in, hidden, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
        size = maybe(st.integers(1, 6), odd_scalar, 8)
        if shape == "fc":
            layers = [("FullyConnectedLayer", {"n_in": n_in, "n_out": hidden, "activation_fn": draw(act),
                                               "p_dropout": draw(p)}),
                      ("SoftmaxLayer", {"n_in": draw(maybe(st.just(hidden), size, 6)), "n_out": n_out,
                                        "p_dropout": draw(p)})]
        else:
            layers = [("SoftmaxLayer", {"n_in": draw(maybe(st.just(n_in), size, 6)),
                                        "n_out": draw(maybe(st.just(n_out), size, 6))})]
    n = draw(st.integers(0, 3)) * m + draw(st.integers(0, 2))

    def data(rows):
        return maybe(st.tuples(matrix(rows, n_in), labels(rows, n_out)),
                     st.one_of(odd_scalar, st.tuples(matrix(rows, n_in)), float_array((rows, n_in))), 6)
    method = draw(st.sampled_from(["init", "feedforward", "predict", "accuracy", "SGD", "SGD"]))
    case = {"target": "network3", "names": NET3_NAMES, "layers": layers,
            "mini_batch_size": draw(maybe(st.just(m), odd_scalar, 8)),
            "dtype": draw(maybe(st.sampled_from([None, "float32", "float64"]), odd_scalar, 8)),
            "method": method}
    if isinstance(case["dtype"], str) and case["dtype"] in ("float32", "float64"):
        case["dtype"] = np.dtype(case["dtype"])
    if method in ("feedforward", "predict"):
        case["x"] = draw(matrix(n, n_in))
    elif method == "accuracy":
        case["data"] = draw(data(n))
    elif method == "SGD":
        case.update(training=draw(data(n)), validation=draw(data(draw(st.integers(1, 2)) * m)),
                    test=draw(st.one_of(st.none(), data(m))),
                    sgd_mini_batch_size=draw(maybe(st.just(m), odd_scalar, 8)),
                    eta=draw(maybe(st.floats(0, 2), odd_scalar)),
                    kwargs=draw(st.fixed_dictionaries({}, optional={"lmbda": maybe(st.floats(0, 5), odd_scalar)})))
    case["tolerance"] = TOLERANCE["float64" if isinstance(case["dtype"], np.dtype) and case["dtype"] == np.float64
                                  else "float32"]
    return case


# -- the compiled kernels' def functions ------------------------------------------

@st.composite
def kernel_cases(draw):
    sizes = draw(small_sizes)
    dtype = draw(st.sampled_from(["float64", "float32"]))
    n = draw(st.integers(0, 6))

    def param(shape):
        return draw(maybe(float_array(shape, (dtype,)), st.one_of(
            float_array(shape, ("float32", "float64")), hostile_array, odd_scalar,
            float_array(shape[:1] + (shape[-1] + 1,) if len(shape) > 1 else (shape[0] + 1,), (dtype,))), 10))
    weights = [param((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [param((y,)) for y in sizes[1:]]
    if draw(st.integers(0, 8)) == 0:
        weights, biases = draw(st.sampled_from([(weights, biases[:-1]), ([], []), (tuple(weights), None),
                                                 (weights[0], biases[0])]))
    X = draw(maybe(float_array((n, sizes[0]), (dtype, "float32")), st.one_of(
        float_array((n, sizes[0] + 1), (dtype,)), hostile_array, odd_scalar), 6))
    function = draw(st.sampled_from(["feedforward", "backprop"]))
    args = [weights, biases, X]
    case = {"target": "kernel", "oracle": True, "tolerance": TOLERANCE[dtype], "function": function,
            "names": ["weights", "biases", "X", "Y", "cost"], "args": args}
    if function == "backprop":
        args.append(draw(maybe(float_array((n, sizes[-1]), (dtype,)), st.one_of(
            float_array((n + 1, sizes[-1]), (dtype,)), hostile_array, odd_scalar), 6)))
        case["cost"] = draw(maybe(st.sampled_from(["CrossEntropyCost", "QuadraticCost"]), odd_scalar, 8))
    return case


# -- hostile data files -----------------------------------------------------------

IDX_CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]
ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@st.composite
def idx_bytes(draw):
    code = draw(st.sampled_from(IDX_CODES))
    ndim = draw(st.sampled_from([0, 1, 1, 2, 3, 3, 4, 255]))
    dims = [draw(st.sampled_from([0, 1, 2, 3, 28, 60000, 2**31, 2**32 - 1])) for _ in range(min(ndim, 4))]
    header = bytes([draw(st.sampled_from([0, 0, 0, 1])), 0, code, ndim])
    header += b"".join(d.to_bytes(4, "big") for d in dims)
    want = math.prod(dims) * ITEMSIZE.get(code, 1) if len(dims) == ndim else 0
    size = want if want <= 4096 and draw(st.booleans()) else draw(st.integers(0, 64))
    payload = bytes(draw(st.binary(min_size=min(size, 16), max_size=min(size, 16)))) * (size // 16 + 1)
    content = header + payload[:size]
    how = draw(st.sampled_from(["plain", "gzip", "gzip", "truncated gzip", "short"]))
    if how == "gzip":
        content = gzip.compress(content)
    elif how == "truncated gzip":
        packed = gzip.compress(content)
        content = packed[:draw(st.integers(0, len(packed) - 1))]
    elif how == "short":
        content = content[:draw(st.integers(0, 8))]
    return content


def pickle_bytes():
    arrays = st.one_of(float_array(st.tuples(st.integers(0, 3), st.sampled_from([784, 3]))),
                       hnp.arrays(st.sampled_from(["int64", "uint8", "float32", "bool"]).map(np.dtype),
                                  st.tuples(st.integers(0, 3))),
                       odd_scalar)
    pair = maybe(st.tuples(arrays, arrays), arrays, 3)
    data = maybe(st.tuples(pair, pair, pair), st.one_of(st.lists(pair, max_size=4), odd_scalar), 3)

    @st.composite
    def build(draw):
        raw = pickle.dumps(draw(data), protocol=draw(st.sampled_from([2, 4, 5])))
        mangle = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
        if mangle == "truncate":
            raw = raw[:draw(st.integers(0, len(raw) - 1))]
        elif mangle == "flip" and raw:
            i = draw(st.integers(0, len(raw) - 1))
            raw = raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1:]
        return gzip.compress(raw) if draw(st.booleans()) else raw
    return build()


IDX_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@st.composite
def dataset_cases(draw):
    kind = draw(st.sampled_from(["read_idx", "folder", "pickle"]))
    case = {"target": "datasets", "backends": ("cython",)}
    if kind == "read_idx":
        case.update(function="read_idx", files={"file.idx": draw(idx_bytes())}, path="file.idx")
    elif kind == "folder":
        present = draw(st.lists(st.sampled_from(IDX_NAMES), min_size=3, max_size=4, unique=True))
        case.update(function=draw(st.sampled_from(["load_mnist", "load_mnist_raw"])),
                    files={name: draw(idx_bytes()) for name in present}, path="")
    else:
        case.update(function=draw(st.sampled_from(["load_mnist", "load_mnist_raw"])),
                    files={"mnist.pkl.gz": draw(pickle_bytes())}, path="mnist.pkl.gz")
    case["names"] = list(case["files"]) + ["data"]
    return case


# -- strategies: the fastnn command, history files, the estimator, searches ----------

def npz_bytes(**arrays):
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def huge_header_npz():
    """A .npz whose X.npy declares shape (1e11, 5) and holds a few bytes."""
    import io
    import zipfile
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**11, 5)})
    member.write(b"\0" * 40)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("X.npy", member.getvalue())
        z.writestr("y.npy", npz_member(np.zeros(5, np.int64)))
    return buf.getvalue()


def npz_member(a):
    import io
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def damaged(draw, data):
    how = draw(st.sampled_from(["none", "none", "none", "truncate", "flip", "empty"]))
    if how == "truncate":
        return data[:draw(st.integers(0, max(0, len(data) - 1)))]
    if how == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    if how == "empty":
        return b""
    return data


@st.composite
def label_arrays(draw, n, classes=3):
    kind = draw(st.sampled_from(["int", "int", "str", "float", "nan", "negative", "scalar",
                                 "empty", "short", "2d", "object", "complex"]))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    y = rng.integers(0, classes, n)
    if kind == "str":
        return np.array(["cat", "dog", "eel"])[y]
    if kind == "float":
        return y.astype(np.float64)
    if kind == "nan":
        return np.where(np.arange(n) == 0, NAN, y)
    if kind == "negative":
        return y - 1
    if kind == "scalar":
        return np.array(3)
    if kind == "empty":
        return y[:0]
    if kind == "short":
        return y[:max(0, n - 1)]
    if kind == "2d":
        return np.eye(classes)[y]
    if kind == "object":
        return np.array(list(y), dtype=object)
    if kind == "complex":
        return y.astype(np.complex128)
    return y


@st.composite
def feature_arrays(draw, n, features):
    kind = draw(st.sampled_from(["float", "float", "float32", "int", "complex", "str", "object",
                                 "nan", "1d", "3d", "empty", "no features"]))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    X = rng.random((n, features))
    return {"float32": lambda: X.astype(np.float32), "int": lambda: (X * 10).astype(np.int64),
            "complex": lambda: X + 1j, "str": lambda: X.astype(str),
            "object": lambda: X.astype(object), "nan": lambda: np.where(X > 0.9, NAN, X),
            "1d": lambda: X[:, 0], "3d": lambda: X.reshape(n, features, 1), "empty": lambda: X[:0],
            "no features": lambda: X[:, :0]}.get(kind, lambda: X)()


TRAIN = ["train", "--epochs", "1", "--out", "{tmp}/out", "--quiet", "--batch-size", "5"]


@st.composite
def cli_cases(draw):
    """``fastnn train`` on hostile .npz data sets, TOML configs and --resume folders."""
    kind = draw(st.sampled_from(["npz", "npz", "npz", "config", "resume"]))
    names = ["--dataset", "--config", "--resume", "config", "--early-stopping"]
    if kind == "npz":
        n = draw(st.sampled_from([5, 30]))
        arrays = {"X": draw(feature_arrays(n, 4)), "y": draw(label_arrays(n))}
        if draw(st.booleans()):
            arrays.update(X_val=draw(feature_arrays(10, 4)), y_val=draw(label_arrays(10)))
        data = huge_header_npz() if draw(st.integers(0, 9)) == 0 else damaged(draw, npz_bytes(**arrays))
        extra = draw(st.sampled_from([[], [], ["--early-stopping", "1"], ["--sizes", "4,3,3"]]))
        return {"target": "cli", "backends": ("cython",), "names": names,
                "files": {"d.npz": data}, "argv": TRAIN + ["--dataset", "{tmp}/d.npz"] + extra}
    rng = np.random.default_rng(0)
    X = rng.random((20, 784)).astype(np.float32)
    y = rng.integers(0, 10, 20)
    files = {"d.npz": npz_bytes(X=X, y=y, X_val=X[:10], y_val=y[:10])}
    if kind == "config":
        sizes = draw(st.sampled_from(["[784, 0, 10]", "[]", "[784]", "[784, -1, 10]", "[784, 5, 10]",
                                      "[" * 5000 + "]" * 5000, "[784, 5.5, 10]", '"784,5,10"']))
        files["run.toml"] = "sizes = {}\n".format(sizes).encode()
        return {"target": "cli", "backends": ("cython",), "names": names, "files": files,
                "argv": TRAIN + ["--dataset", "{tmp}/d.npz", "--config", "{tmp}/run.toml"]}
    # --resume of a chapter 6 folder whose files may be damaged
    good_history = json.dumps({"validation_accuracy": [0.5], "test_accuracy": [None],
                               "training_cost": [1.0], "eta": [0.1],
                               "best_validation_accuracy": 0.5, "best_iteration": 1,
                               "test_accuracy_at_best": None}).encode()
    history = draw(st.sampled_from([good_history, good_history, b"[" * 100000, b"\xff\xfe\x00",
                                    good_history.replace(b', "best_validation_accuracy": 0.5', b""),
                                    good_history[:40]]))
    network = draw(st.sampled_from(["good", "good", "missing w0", "wrong shape", "object", "nan"]))
    arrays = dict(ONE_CONV)
    if network == "missing w0":
        del arrays["w0"]
    elif network == "wrong shape":
        arrays["w1"] = arrays["w1"][:3]
    elif network == "object":
        arrays["b0"] = arrays["b0"].astype(object)
    elif network == "nan":
        arrays["b1"] = arrays["b1"] * NAN
    files["out/history.json"] = history
    files["out/network.npz"] = damaged(draw, npz_bytes(**arrays))
    return {"target": "cli", "backends": ("cython",), "names": names, "files": files,
            "argv": TRAIN[:-2] + ["--dataset", "{tmp}/d.npz", "--preset", "one-conv", "--resume"]}


def _one_conv():
    from fastnn import network3
    from fastnn.ladder import LADDER
    net = network3.Network(LADDER["one-conv"].layers(), 10, seed=0)
    arrays = {}
    for i, layer in enumerate(net.layers):
        arrays["w{}".format(i)], arrays["b{}".format(i)] = np.array(layer.w), np.array(layer.b)
    return arrays


ONE_CONV = _one_conv()

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["epoch", "val_accuracy", "val_cost", "gradient_norms", "eta",
                         "validation_accuracy", "best_validation_accuracy", "best_iteration",
                         "test_accuracy_at_best", "x"]), inner, max_size=5),
    max_leaves=20)


@st.composite
def history_cases(draw):
    """history.load of JSON and CSV files: generated values, damaged valid
    files, bad CSV headers."""
    from fastnn import history
    valid = draw(st.sampled_from([
        [{"epoch": 0, "val_accuracy": 0.5, "gradient_norms": [0.1, 0.2]}, {"epoch": 1, "eta": 0.5}],
        ([1.0, 0.9], [50, 60], [], []),
        {"validation_accuracy": [0.5, 0.6], "test_accuracy": [0.4, None], "eta": [0.1, 0.1],
         "best_validation_accuracy": 0.6, "best_iteration": 9, "test_accuracy_at_best": None}]))
    suffix = draw(st.sampled_from([".json", ".csv"]))
    how = draw(st.sampled_from(["generated", "damaged", "damaged", "header"]))
    if how == "generated":
        data = json.dumps(draw(JSON_VALUES)).encode()
        if suffix == ".csv":
            data = b"# fastnn history: " + draw(st.sampled_from([b"mlp ", b"network3 ", b"network2 ",
                                                                 b"x "])) + data + b"\nepoch\n0\n"
    else:
        text = (history._to_json(valid) if suffix == ".json" else history.to_csv(valid)).encode()
        if how == "header" and suffix == ".csv":
            first, _, rest = text.partition(b"\n")
            text = first[:draw(st.integers(0, len(first)))] + b"\n" + rest
        data = damaged(draw, text)
    path = "history" + suffix
    return {"target": "history_load", "backends": ("cython",), "names": [path],
            "files": {path: data}, "path": path}


@st.composite
def estimator_cases(draw):
    n = draw(st.integers(0, 8))
    pool = st.sampled_from([0, 1, 2, "a", "b", None, 1.5, NAN, True, b"x"])
    y = draw(st.lists(pool, min_size=n, max_size=n + draw(st.sampled_from([0, 0, 1]))))
    X = np.random.default_rng(n).random((n, 3))
    params = draw(st.fixed_dictionaries({}, optional={
        "hidden_layer_sizes": st.sampled_from([(4,), (), (0,), 3, "4"]),
        "epochs": st.sampled_from([1, 0, -1, 2.5]),
        "learning_rate": st.sampled_from([0.1, -1.0, NAN])}))
    params.setdefault("epochs", 1)
    return {"target": "estimator", "backends": ("cython",), "X": X, "y": np.array(y, dtype=object),
            "params": params,
            # scikit-learn's own input checks name what they refuse in their words
            "names": ["y", "X", "classes", "Input", "samples", "sample"] + list(params)}


@st.composite
def search_cases(draw):
    values = st.sampled_from([[0.1, 0.5], (0.1,), ("gen", [0.1, 0.2]), ("gen", []), [], {0.1},
                              "0.1", 0.1, [None], [-1.0]])
    grid = draw(st.one_of(
        st.dictionaries(st.sampled_from(["learning_rate", "l2", "epochs", "bogus", "seed"]),
                        values, max_size=3),
        st.sampled_from([[], None, "learning_rate", [{"learning_rate": [0.1]}, 3]])))
    client = draw(st.sampled_from(["serial", "serial", "serial", "bogus", "foo://x:1", "tcp://",
                                   "tcp://127.0.0.1", 3]))
    rng = np.random.default_rng(0)
    return {"target": "search", "backends": ("cython",), "grid": grid, "client": client,
            "X": rng.random((12, 4)), "y": rng.integers(0, 2, 12),
            "base": draw(st.sampled_from([{"sizes": [4, 3, 2], "epochs": 1}, {"epochs": 1},
                                          {"sizes": [4, 3, 2], "bogus": 1}])),
            "names": ["param_grid", "client", "base", "sizes", "bogus", "learning_rate", "l2",
                      "epochs", "seed", "grid"]}


# -- the tests ----------------------------------------------------------------------

def test_mlp_constructor():
    run_battery("MLP()", generate(mlp_init_cases(), EXAMPLES))


def test_mlp_methods():
    run_battery("MLP methods", generate(mlp_method_cases(), EXAMPLES))


def test_mlp_load():
    run_battery("MLP.load", generate(load_cases("mlp_load"), EXAMPLES // 2))


def test_network2_load():
    run_battery("network2.load", generate(load_cases("network2_load"), EXAMPLES // 2))


def test_book_networks():
    run_battery("network/network2", generate(book_cases(), EXAMPLES))


def test_network3():
    run_battery("network3", generate(net3_cases(), EXAMPLES))


def test_compiled_kernels():
    run_battery("_dense kernels", generate(kernel_cases(), EXAMPLES))


def test_datasets_hostile_files():
    run_battery("datasets", generate(dataset_cases(), EXAMPLES))


def test_the_fastnn_command():
    run_battery("fastnn train", generate(cli_cases(), EXAMPLES // 4))


def test_history_files():
    run_battery("history.load", generate(history_cases(), EXAMPLES // 2))


def test_the_estimator():
    pytest.importorskip("sklearn")
    run_battery("BookMLPClassifier", generate(estimator_cases(), EXAMPLES // 4))


def test_searches():
    pytest.importorskip("distributed")
    run_battery("distributed.search", generate(search_cases(), EXAMPLES // 4))


def test_the_driver_pins_crashes_and_hangs_on_their_cases(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CASE_SECONDS", 3)
    cases = [{"target": "selftest", "names": [], "do": do}
             for do in ["return", "segfault", "return", "hang", "return"]]
    verdicts = {i: verdict for i, verdict, _ in run_batch(cases, str(tmp_path))}
    assert verdicts == {0: "ok", 1: "crash", 2: "ok", 3: "hang", 4: "ok"}


