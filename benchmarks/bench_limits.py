"""How near the machine's limit each optimizer trains, at every mini-batch
size: seconds per epoch against a roofline measured in the same run.

``[784, H, 10]`` ReLU + softmax (log-likelihood) on MNIST's first training rows,
one thread, for plain SGD, momentum 0.9, Nesterov and Adam, at mini-batch
10, 32 and 128, H = 100 and 1000, float32 and float64: fastnn's compiled
kernels called as the trainer calls them (``_dense.train``), each epoch from
the same start.

The limit of one mini-batch step of ``m`` rows is the larger of two times
(a roofline: it assumes the two overlap perfectly):

* ``flop``: its ``(4*784 + 60)*H`` flops a row (the forward product and the
  weight gradient of both layers, and the output layer's error sent back) at
  the rate of a 2048 x 2048 numpy gemm on one thread;
* ``bytes``: what the step must move (the ``m`` input rows; the parameters
  read by the forward pass and read and written by the update, 3 passes;
  each optimizer state array read and written, 2 passes each: momentum and
  Nesterov keep one, Adam two) at the bandwidth of ``a += b`` over arrays
  of the network's size (one thread; it moves 3 arrays a pass).

The epoch's limit is the sum over its steps; ``x limit`` is the measured
epoch over it.  Both terms are measured in every round, between the epochs,
and their medians are used.  Each round runs every cell once in a child
process per (condition, H, dtype), the conditions taking turns, so that the
machine's other load falls on all alike; the medians are printed, with the
load average.  ``--before PATH`` adds another build of fastnn (a folder to
put on PYTHONPATH, e.g. main's, built in place) as a second condition, with
its times and ``before / ours``.

Also printed:

* **drift**: six epochs in a row with momentum and with Adam at
  mini-batch 10 (H = 100), the state carried across; epoch 6 over epoch 2
  (above 1: later epochs are slower, as when optimizer state sinks into the
  subnormal range);
* with ``--anchors``, [784, 100, 10] momentum and Adam at mini-batch 10, 32
  and 128 in PyTorch eager (its usual loop), JAX (the whole epoch one
  jit-compiled ``lax.scan``, the peer that goes furthest from Python) and
  scikit-learn's ``MLPClassifier`` (one ``partial_fit`` pass over the rows),
  one thread each, beside fastnn's time for the same cell (each skipped with
  the reason when not installed).

Run:  python benchmarks/bench_limits.py [--rounds 3] [--rows 10000] [--before PATH]
                                        [--anchors] [--only-drift] [--only-anchors]
      FASTNN_BENCH_QUICK=1 python benchmarks/bench_limits.py   (seconds: checks it runs)
(from the repository root after installing, or with the tree built in place on
PYTHONPATH: the children import the fastnn this script imports).
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

from conftest import QUICK, run_python

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
BATCHES = [10, 32, 128]
WIDTHS = [100, 1000]
DTYPES = ["float32", "float64"]
#: optimizer state arrays per parameter array, each read and written once a step
STATE = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}
ANCHOR_OPTIMIZERS = ["momentum", "adam"]

# One child: the cells of one (H, dtype), one epoch each from the same start
# (or, with epochs > 1, that many in a row, the state carried), timed alone.
CHILD = r"""
import json, sys, time
import numpy as np
from fastnn import trainer
from fastnn._core import _dense
from fastnn.optimizers import SGD, Adam, Step
data, H, dtype, cells, epochs = sys.argv[1], int(sys.argv[2]), np.dtype(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
X = np.load(data + "/X.npy").astype(dtype)
labels = np.load(data + "/y.npy")
Y = np.eye(10, dtype=dtype)[labels]
n = len(X)
OPT = {"sgd": (SGD(), 0.1), "momentum": (SGD(momentum=0.9), 0.01),
       "nesterov": (SGD(momentum=0.9, nesterov=True), 0.01), "adam": (Adam(), 1e-3)}
spec = trainer.Spec("relu", "softmax", "log_likelihood")
sizes = [784, H, 10]
out = []
with trainer.one_blas_thread():
    for name, mb in cells:
        rng = np.random.default_rng(0)
        w = [(rng.standard_normal((y, x)) / np.sqrt(x / 2)).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:])]
        b = [np.zeros(y, dtype) for y in sizes[1:]]
        opt, rate = OPT[name]
        step = Step.for_parameters(list(zip(w, b)), n, optimizer=opt)
        step.eta = rate
        times = []
        for e in range(epochs):
            order = rng.permutation(n)
            t = time.perf_counter()
            _dense.train(w, b, X, Y, order, mb, spec, step)
            times.append(time.perf_counter() - t)
        if not all(np.isfinite(p).all() for p in w + b):
            raise SystemExit("{} at mini-batch {} diverged".format(name, mb))
        out.append(times)
print(json.dumps(out))
"""

# PyTorch eager, its usual loop, one thread: one epoch per cell.
TORCH = r"""
import json, sys, time
import numpy as np
import torch
torch.set_num_threads(1)
data, H, dtype, cells = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
tdtype = torch.float64 if dtype == "float64" else torch.float32
X = torch.from_numpy(np.load(data + "/X.npy").astype(dtype))
y = torch.from_numpy(np.load(data + "/y.npy").astype(np.int64))
n = len(X)
out = []
for name, mb in cells:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, H), torch.nn.ReLU(), torch.nn.Linear(H, 10)).to(tdtype)
    if name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=name == "nesterov")
    order = torch.from_numpy(np.random.default_rng(0).permutation(n))
    t = time.perf_counter()
    for k in range(0, n, mb):
        rows = order[k:k + mb]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
        opt.step()
    out.append([time.perf_counter() - t])
print(json.dumps(out))
"""

# JAX: the whole epoch one jit-compiled lax.scan over the mini-batches (its
# fastest form: no Python between steps), the optimizers written out as
# PyTorch's (momentum: buf = mu buf + g; Adam with bias corrections), the
# gradient of the mean log-likelihood by jax.grad.  The scan takes whole
# mini-batches only (at most 127 rows of 10,000 left out).  Compiled before
# the timing, on a copy; on Linux the process is held to one core, XLA's pool included.
JAX = r"""
import json, os, sys, time
import numpy as np
if hasattr(os, "sched_setaffinity"):      # Linux: one core, XLA's threads included
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
data, H, dtype, cells = sys.argv[1], int(sys.argv[2]), np.dtype(sys.argv[3]), json.loads(sys.argv[4])
X = jnp.asarray(np.load(data + "/X.npy").astype(dtype))
y = jnp.asarray(np.load(data + "/y.npy").astype(np.int32))
n = len(X)

def loss(params, rows):
    (w1, b1), (w2, b2) = params
    z = jnp.maximum(X[rows] @ w1.T + b1, 0) @ w2.T + b2
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[rows][:, None], 1))

grad = jax.grad(loss)

def momentum(carry, rows, lr=0.01, mu=0.9):
    params, buf = carry
    buf = jax.tree.map(lambda v, g: mu * v + g, buf, grad(params, rows))
    return (jax.tree.map(lambda p, v: p - lr * v, params, buf), buf), None

def adam(carry, rows, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    params, (m, v, t) = carry
    g = grad(params, rows)
    t = t + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    params = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
    return (params, (m, v, t)), None

out = []
for name, mb in cells:
    rng = np.random.default_rng(0)
    params = [(jnp.asarray((rng.standard_normal((b, a)) / np.sqrt(a / 2)).astype(dtype)),
               jnp.zeros(b, dtype)) for a, b in ((784, H), (H, 10))]
    zeros = jax.tree.map(jnp.zeros_like, params)
    state = zeros if name == "momentum" else (zeros, zeros, jnp.asarray(0, dtype))
    batches = jnp.asarray(rng.permutation(n)[:n - n % mb].reshape(-1, mb))
    epoch = jax.jit(lambda carry: jax.lax.scan(momentum if name == "momentum" else adam, carry, batches)[0])
    jax.block_until_ready(epoch((params, state)))       # compile
    t = time.perf_counter()
    trained = jax.block_until_ready(epoch((params, state)))
    out.append([time.perf_counter() - t])
    if not all(bool(jnp.isfinite(p).all()) for p in jax.tree.leaves(trained[0])):
        raise SystemExit("jax: {} at mini-batch {} diverged".format(name, mb))
print(json.dumps(out))
"""

# scikit-learn's MLPClassifier, one partial_fit pass over the rows (shuffled,
# in mini-batches of batch_size), one BLAS thread.
SKLEARN = r"""
import json, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.neural_network import MLPClassifier
data, H, dtype, cells = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
X = np.load(data + "/X.npy").astype(dtype)
y = np.load(data + "/y.npy")
out = []
with threadpool_limits(1):
    for name, mb in cells:
        kw = dict(solver="adam", learning_rate_init=1e-3) if name == "adam" else dict(
            solver="sgd", learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=name == "nesterov")
        clf = MLPClassifier(hidden_layer_sizes=(H,), activation="relu", batch_size=mb, alpha=0.0,
                            shuffle=True, random_state=0, **kw)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X, y, classes=np.arange(10))
        out.append([time.perf_counter() - t])
print(json.dumps(out))
"""


def fastnn_root():
    """The folder holding the fastnn this script imports: the children import the same."""
    import fastnn
    return os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


def child_env(path):
    env = dict(os.environ)
    env["PYTHONPATH"] = path
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_child(code, env, *args):
    return json.loads(run_python(code, *args, env=env).stdout.strip().splitlines()[-1])


def gemm_rate(dtype, n=2048):
    """Flop/s of an ``n x n`` numpy matmul on one BLAS thread (the best of 3)."""
    from threadpoolctl import threadpool_limits
    a = np.ones((n, n), dtype)
    c = np.empty((n, n), dtype)
    best = float("inf")
    with threadpool_limits(1):
        np.matmul(a, a, out=c)
        for _ in range(3):
            t = time.perf_counter()
            np.matmul(a, a, out=c)
            best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best


def bandwidth(count, dtype):
    """Bytes/s of ``a += b`` over arrays of ``count`` elements (3 arrays'
    bytes a pass: two read, one written), the median of 5 timings."""
    a = np.zeros(count, dtype)
    b = np.ones(count, dtype)
    reps = max(1, int(2e7 // count))
    a += b
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            a += b
        times.append((time.perf_counter() - t) / reps)
    return 3 * count * np.dtype(dtype).itemsize / statistics.median(times)


def parameters(H):
    return 784 * H + H + 10 * H + 10


def limit(name, H, dtype, mb, rows, rate, bw):
    """(flop term, bytes term, roofline) of one epoch, in seconds."""
    size = np.dtype(dtype).itemsize
    flops_row = (4 * 784 + 60) * H
    passes = 3 + 2 * STATE[name]
    flop = byte = roof = 0.0
    for k in range(0, rows, mb):
        m = min(mb, rows - k)
        f = m * flops_row / rate
        b = (m * 784 + passes * parameters(H)) * size / bw
        flop, byte, roof = flop + f, byte + b, roof + max(f, b)
    return flop, byte, roof


def load():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def save_data(folder, rows):
    """The first ``rows`` MNIST training images (float32) and labels, as .npy
    files in ``folder`` for the children."""
    from fastnn.datasets import load_mnist
    from helpers import find_mnist
    (X, y), _, _ = load_mnist(find_mnist())
    os.makedirs(folder)
    np.save(os.path.join(folder, "X.npy"), np.ascontiguousarray(X[:rows]))
    np.save(os.path.join(folder, "y.npy"), np.asarray(y[:rows]))


def grid(a, data, conditions):
    cells = [[name, mb] for name in a.optimizers for mb in a.batches]
    times = {}
    rates = {d: [] for d in a.dtypes}
    bws = {}
    print("load average {} at the start".format(load()), flush=True)
    for r in range(a.rounds):
        for dtype in a.dtypes:
            rates[dtype].append(gemm_rate(dtype))
        for H in a.widths:
            for dtype in a.dtypes:
                bws.setdefault((H, dtype), []).append(bandwidth(parameters(H), dtype))
                for label, path in conditions:
                    out = run_child(CHILD, child_env(path), data, H, dtype, json.dumps(cells), 1)
                    for (name, mb), t in zip(cells, out):
                        times.setdefault((label, name, H, dtype, mb), []).extend(t)
        print("round {} done, load average {}".format(r + 1, load()), flush=True)
    rate = {d: statistics.median(v) for d, v in rates.items()}
    bw = {k: statistics.median(v) for k, v in bws.items()}
    print()
    print("load average {}; one thread: gemm 2048 {}; a += b {}".format(
        load(), ", ".join("{} {:.1f} GFLOP/s".format(d, rate[d] / 1e9) for d in a.dtypes),
        ", ".join("[784, {}, 10] {} {:.1f} GB/s".format(H, d, bw[(H, d)] / 1e9)
                  for H in a.widths for d in a.dtypes)))
    labels = [c[0] for c in conditions]
    before = "before" in labels
    print()
    print("| optimizer | dtype | H | mini-batch | flop (s) | bytes (s) | limit (s) | ours (s) "
          "| ours x limit |" + (" before (s) | before x limit | before / ours |" if before else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|---|" if before else ""))
    rows = {}
    for name in a.optimizers:
        for dtype in a.dtypes:
            for H in a.widths:
                for mb in a.batches:
                    flop, byte, roof = limit(name, H, dtype, mb, a.rows, rate[dtype], bw[(H, dtype)])
                    med = {lab: statistics.median(times[(lab, name, H, dtype, mb)]) for lab in labels}
                    rows[(name, dtype, H, mb)] = med["ours"] / roof
                    line = "| {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.2f} |".format(
                        name, dtype, H, mb, flop, byte, roof, med["ours"], med["ours"] / roof)
                    if before:
                        line += " {:.3f} | {:.2f} | {:.2f} |".format(
                            med["before"], med["before"] / roof, med["before"] / med["ours"])
                    print(line)
    print()
    print("ours x limit, summary (rows: optimizer, dtype; columns: H / mini-batch)")
    heads = ["{}/{}".format(H, mb) for H in a.widths for mb in a.batches]
    print("| optimizer | dtype | " + " | ".join(heads) + " |")
    print("|---|---|" + "---|" * len(heads))
    for name in a.optimizers:
        for dtype in a.dtypes:
            print("| {} | {} | ".format(name, dtype) + " | ".join(
                "{:.2f}".format(rows[(name, dtype, H, mb)]) for H in a.widths for mb in a.batches)
                + " |")
    return times


def drift(a, data, conditions):
    """Six epochs in a row, momentum and Adam at mini-batch 10, H = 100."""
    cells = [[name, 10] for name in ("momentum", "adam")]
    epochs = 6
    times = {}
    print()
    print("drift: [784, 100, 10], mini-batch 10, {} epochs of {} rows in a row, {} rounds; "
          "load average {}".format(epochs, a.drift_rows, a.rounds, load()), flush=True)
    for _ in range(a.rounds):
        for dtype in a.dtypes:
            for label, path in conditions:
                out = run_child(CHILD, child_env(path), data, 100, dtype, json.dumps(cells), epochs)
                for (name, _), t in zip(cells, out):
                    times.setdefault((label, name, dtype), []).append(t)
    print("| build | optimizer | dtype | epoch 1 | 2 | 3 | 4 | 5 | 6 (s, medians) | epoch 6 / epoch 2 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, _ in conditions:
        for name in ("momentum", "adam"):
            for dtype in a.dtypes:
                runs = times[(label, name, dtype)]
                med = [statistics.median(r[e] for r in runs) for e in range(epochs)]
                ratio = statistics.median(r[5] / r[1] for r in runs)
                print("| {} | {} | {} | ".format(label, name, dtype) +
                      " | ".join("{:.3f}".format(t) for t in med) + " | {:.3f} |".format(ratio))
    print("load average {}".format(load()))


def anchors(a, data, root):
    """[784, 100, 10] momentum and Adam against PyTorch, JAX and scikit-learn,
    with each cell's limit (the grid's roofline) measured in the same rounds."""
    cells = [[name, mb] for name in ANCHOR_OPTIMIZERS for mb in a.batches]
    peers = [("fastnn", CHILD, root)]
    for label, code, module in (("torch", TORCH, "torch"), ("jax", JAX, "jax"),
                                ("sklearn", SKLEARN, "sklearn")):
        try:
            __import__(module)
        except ImportError:
            print("{}: skipped, {} is not installed".format(label, module))
            continue
        peers.append((label, code, root))
    times = {}
    rates, bws = {}, {}
    print()
    print("anchors: [784, 100, 10], one epoch of {} rows, one thread each; {} rounds; "
          "load average {}".format(a.rows, a.rounds, load()), flush=True)
    for _ in range(a.rounds):
        for dtype in a.dtypes:
            rates.setdefault(dtype, []).append(gemm_rate(dtype))
            bws.setdefault(dtype, []).append(bandwidth(parameters(100), dtype))
            for label, code, path in peers:
                args = (data, 100, dtype, json.dumps(cells)) + ((1,) if label == "fastnn" else ())
                out = run_child(code, child_env(path), *args)
                for (name, mb), t in zip(cells, out):
                    times.setdefault((label, name, dtype, mb), []).extend(t)
    labels = [p[0] for p in peers]
    others = labels[1:]
    print("| optimizer | dtype | mini-batch | limit (s) | " + " | ".join(l + " (s)" for l in labels) +
          " | " + " | ".join(l + " / fastnn" for l in others) + " | " +
          " | ".join(l + " x limit" for l in labels) + " |")
    print("|---|---|---|---|" + "---|" * (2 * len(labels) + len(others)))
    for name in ANCHOR_OPTIMIZERS:
        for dtype in a.dtypes:
            for mb in a.batches:
                roof = limit(name, 100, dtype, mb, a.rows, statistics.median(rates[dtype]),
                             statistics.median(bws[dtype]))[2]
                med = {l: statistics.median(times[(l, name, dtype, mb)]) for l in labels}
                print("| {} | {} | {} | {:.3f} | ".format(name, dtype, mb, roof) +
                      " | ".join("{:.3f}".format(med[l]) for l in labels) + " | " +
                      " | ".join("{:.2f}".format(med[l] / med["fastnn"]) for l in others) + " | " +
                      " | ".join("{:.2f}".format(med[l] / roof) for l in labels) + " |")
    print("load average {}".format(load()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=1 if QUICK else 3)
    p.add_argument("--rows", type=int, default=500 if QUICK else 10000,
                   help="MNIST training rows an epoch of the grid and the anchors takes")
    p.add_argument("--drift-rows", type=int, default=500 if QUICK else 50000,
                   help="rows an epoch of the drift check takes")
    p.add_argument("--widths", type=int, nargs="+", default=[100] if QUICK else WIDTHS)
    p.add_argument("--batches", type=int, nargs="+", default=[32] if QUICK else BATCHES)
    p.add_argument("--dtypes", nargs="+", default=["float64"] if QUICK else DTYPES)
    p.add_argument("--optimizers", nargs="+", default=OPTIMIZERS, choices=OPTIMIZERS)
    p.add_argument("--before", help="another fastnn build (a folder to put on PYTHONPATH)")
    p.add_argument("--anchors", action="store_true", help="also PyTorch and scikit-learn")
    p.add_argument("--only-drift", action="store_true", help="the drift check alone")
    p.add_argument("--only-anchors", action="store_true", help="the anchors alone")
    p.add_argument("--no-drift", action="store_true", help="skip the drift check")
    a = p.parse_args()
    root = fastnn_root()
    conditions = [("ours", root)] + ([("before", a.before)] if a.before else [])
    with tempfile.TemporaryDirectory() as folder:
        grid_data = os.path.join(folder, "grid")
        drift_data = os.path.join(folder, "drift")
        save_data(grid_data, a.rows)
        save_data(drift_data, a.drift_rows)
        if not (a.only_drift or a.only_anchors):
            grid(a, grid_data, conditions)
        if not (a.no_drift or a.only_anchors):
            drift(a, drift_data, conditions)
        if a.anchors or a.only_anchors or QUICK:
            anchors(a, grid_data, root)


if __name__ == "__main__":
    main()
