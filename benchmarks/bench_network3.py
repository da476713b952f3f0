"""Seconds per epoch of the book's two-conv-layer ReLU network (chapter 6).

    ConvPool 20@5x5 on 28x28 -> ConvPool 40@5x5 on 12x12 -> FC 640->100 ReLU
    -> softmax 10; mini-batch 10, eta 0.03, lmbda 0.1, 50,000 images

compiled float32 (1 and 2 threads) vs the numpy reference (timed on a
fraction of the epoch and scaled: see ``extra_info``) vs the same network in
PyTorch on the CPU (skipped when torch is not installed; ``pip install
torch`` for it), plus the peak memory of training on the 250,000-image
expanded set.

The group ``network3-dropout`` times the book's best single network (the
ladder's "dropout" rung: the same two conv-pool layers, then FC 640->1000
and FC 1000->1000, ReLU, and the softmax, each of the three taking its
inputs through dropout 0.5) on the same 5,000 MNIST images in fastnn and in
its PyTorch twin, 1 and 2 threads, medians of a few rounds; the PyTorch row
carries ``fastnn_speedup`` (its median over fastnn's, same thread count, same
run).  Both train with eta 0.03 and lmbda 0.1 as the other rows do (the
ladder's rung itself trains without L2, as the book did); the weight decay
costs the same in both.  Run with::

    pytest benchmarks/bench_network3.py --benchmark-columns=min,mean

Every result carries ``seconds_per_epoch``, dtype, sizes and the thread
count in ``extra_info``; ``--benchmark-json`` keeps them.
"""
import contextlib
import os
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import QUICK, run_python
from fastnn import datasets, network3
from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer

HERE = os.path.dirname(os.path.abspath(__file__))
MINI_BATCH = 10
ETA, LMBDA = 0.03, 0.1
N_TRAIN = 500 if QUICK else 50000
#: mini-batches the numpy reference is timed on (its epoch is scaled from these)
REFERENCE_BATCHES = 5 if QUICK else int(os.environ.get("FASTNN_BENCH_REFERENCE_BATCHES", "200"))


def _data_path():
    from helpers import find_mnist
    return find_mnist()


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist(_data_path())


def _cores_available(seconds=0.5):
    """How many cores two busy threads actually get right now (2.0 on an idle
    two-core machine): the same single-threaded BLAS work run by one thread,
    then by two at once.  On a shared machine the thread-scaling figures
    below can be no better than this."""
    import threading
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).random((300, 300))

    def work(n):
        for _ in range(n):
            a @ a

    with threadpool_limits(limits=1):
        n, t = 1, 0.0
        while t < seconds / 4:
            n *= 2
            t0 = time.perf_counter()
            work(n)
            t = time.perf_counter() - t0
        t0 = time.perf_counter()
        work(n)
        one = time.perf_counter() - t0
        threads = [threading.Thread(target=work, args=(n,)) for _ in range(2)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        two = time.perf_counter() - t0
    return 2 * one / two


def two_conv_net(dtype=np.float32, backend="cython", seed=0):
    np.random.seed(seed)
    m = MINI_BATCH
    return Network([
        ConvPoolLayer(image_shape=(m, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                      activation_fn=ReLU),
        ConvPoolLayer(image_shape=(m, 20, 12, 12), filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                      activation_fn=ReLU),
        FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=ReLU),
        SoftmaxLayer(n_in=100, n_out=10)], m, dtype=dtype, backend=backend)


def _info(benchmark, backend, threads, dtype, images, seconds, cpu_seconds=None):
    benchmark.extra_info.update(
        cpu_seconds_per_epoch=None if cpu_seconds is None else cpu_seconds * N_TRAIN / images,
        cores_available_at_start=round(_cores_available(), 2),
        backend=backend, threads=threads, dtype=np.dtype(dtype).name, mini_batch_size=MINI_BATCH,
        network="ConvPool(20@5x5,28x28)-ConvPool(40@5x5,12x12)-FC(640,100,ReLU)-Softmax(10)",
        eta=ETA, lmbda=LMBDA, images_timed=images,
        seconds_per_epoch=seconds * N_TRAIN / images,
        scaled_from_fraction=images != N_TRAIN, cpu_count=os.cpu_count(),
        openmp=bool(getattr(__import__("fastnn._core._dense", fromlist=["OPENMP"]), "OPENMP")))


@pytest.mark.benchmark(group="network3-epoch")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_compiled_epoch(benchmark, mnist, threads, dtype):
    if dtype == np.float64 and threads == 2:
        pytest.skip("float64 is timed on one thread only, to keep the run short")
    (tx, ty), (vx, vy), _ = mnist
    network3.set_num_threads(threads)
    try:
        net = two_conv_net(dtype)
        x, y = tx[:N_TRAIN], ty[:N_TRAIN]
        out = {}

        def epoch():
            t, c = time.perf_counter(), time.process_time()
            net.SGD((x, y), 1, MINI_BATCH, ETA, (vx[:MINI_BATCH], vy[:MINI_BATCH]), None, lmbda=LMBDA,
                    verbose=False)
            out["s"], out["cpu"] = time.perf_counter() - t, time.process_time() - c

        benchmark.pedantic(epoch, rounds=1, iterations=1)
    finally:
        network3.set_num_threads(None)
    _info(benchmark, "cython", threads, dtype, N_TRAIN, out["s"], out["cpu"])


@pytest.mark.benchmark(group="network3-epoch")
@pytest.mark.parametrize("threads", [1, 2])
def test_reference_fraction_of_epoch(benchmark, mnist, threads):
    from threadpoolctl import threadpool_limits
    (tx, ty), (vx, vy), _ = mnist
    n = REFERENCE_BATCHES * MINI_BATCH
    net = two_conv_net(np.float32, backend="numpy")

    out = {}

    def fraction():
        t, c = time.perf_counter(), time.process_time()
        with threadpool_limits(limits=threads):
            net.SGD((tx[:n], ty[:n]), 1, MINI_BATCH, ETA, (vx[:MINI_BATCH], vy[:MINI_BATCH]), None,
                    lmbda=LMBDA, verbose=False)
        out["s"], out["cpu"] = time.perf_counter() - t, time.process_time() - c

    benchmark.pedantic(fraction, rounds=1, iterations=1)
    _info(benchmark, "numpy", threads, np.float32, n, out["s"], out["cpu"])


def _torch_net(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 20, 5)
            self.conv2 = nn.Conv2d(20, 40, 5)
            self.fc = nn.Linear(640, 100)
            self.out = nn.Linear(100, 10)

        def forward(self, x):
            f = torch.nn.functional
            x = f.relu(f.max_pool2d(self.conv1(x), 2))
            x = f.relu(f.max_pool2d(self.conv2(x), 2))
            x = f.relu(self.fc(x.reshape(x.shape[0], -1)))
            return self.out(x)

    return Net()


@contextlib.contextmanager
def _torch_threads(threads):
    """PyTorch (the test is skipped without it), seeded, on ``threads`` threads
    until the block ends."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield torch
    finally:
        torch.set_num_threads(old)


def _torch_epoch(torch, net, opt, x, y, penalty=None):
    """One epoch of mini-batch SGD in PyTorch over ``x``, ``y`` in order, the
    cross-entropy of the softmax plus ``penalty()`` when given."""
    for i in range(len(x) // MINI_BATCH):
        xb, yb = x[i*MINI_BATCH:(i+1)*MINI_BATCH], y[i*MINI_BATCH:(i+1)*MINI_BATCH]
        loss = torch.nn.functional.cross_entropy(net(xb), yb)
        if penalty is not None:
            loss = loss + penalty()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@pytest.mark.benchmark(group="network3-epoch")
@pytest.mark.parametrize("threads", [1, 2])
def test_torch_epoch(benchmark, mnist, threads):
    (tx, ty), _, _ = mnist
    with _torch_threads(threads) as torch:
        net = _torch_net(torch)
        x = torch.from_numpy(np.ascontiguousarray(tx[:N_TRAIN])).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(ty[:N_TRAIN])
        weights = [net.conv1.weight, net.conv2.weight, net.fc.weight, net.out.weight]
        opt = torch.optim.SGD(net.parameters(), lr=ETA)
        ntb = N_TRAIN // MINI_BATCH

        out = {}

        def epoch():
            t, c = time.perf_counter(), time.process_time()
            _torch_epoch(torch, net, opt, x, y,
                         penalty=lambda: 0.5*LMBDA*sum((w*w).sum() for w in weights)/ntb)
            out["s"], out["cpu"] = time.perf_counter() - t, time.process_time() - c

        benchmark.pedantic(epoch, rounds=1, iterations=1)
    _info(benchmark, "torch " + torch.__version__, threads, np.float32, N_TRAIN, out["s"], out["cpu"])


# ---------------------------------------------------------------------------
# The book's best single network: dropout on the three dense layers' inputs
# ---------------------------------------------------------------------------

#: images each round of the dropout network trains on, and the rounds (medians)
DROPOUT_IMAGES = 100 if QUICK else int(os.environ.get("FASTNN_BENCH_DROPOUT_IMAGES", "5000"))
DROPOUT_ROUNDS = 1 if QUICK else int(os.environ.get("FASTNN_BENCH_DROPOUT_ROUNDS", "5"))
DROPOUT_NETWORK = ("ConvPool(20@5x5,28x28,ReLU)-ConvPool(40@5x5,12x12,ReLU)-FC(640,1000,ReLU,p=0.5)"
                   "-FC(1000,1000,ReLU,p=0.5)-Softmax(1000,10,p=0.5)")
_dropout_medians = {}    # (threads) -> fastnn's median, for the PyTorch row's ratio


def dropout_net(dtype=np.float32, seed=0):
    """The ladder's "dropout" rung (the book's best single network)."""
    from fastnn import ladder
    np.random.seed(seed)
    return Network(ladder.LADDER["dropout"].layers(), MINI_BATCH, dtype=dtype, seed=seed)


def _torch_dropout_net(torch):
    """The same network in PyTorch, dropping out as network3 does: each
    dense layer's *inputs* are multiplied by a fresh 0/1 mask (kept with
    probability 1 - p, no rescaling in training)."""
    nn = torch.nn
    f = torch.nn.functional

    def drop(x, p=0.5):
        return x * (torch.rand_like(x) >= p)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 20, 5)
            self.conv2 = nn.Conv2d(20, 40, 5)
            self.fc1 = nn.Linear(640, 1000)
            self.fc2 = nn.Linear(1000, 1000)
            self.out = nn.Linear(1000, 10)

        def forward(self, x):
            x = f.relu(f.max_pool2d(self.conv1(x), 2))
            x = f.relu(f.max_pool2d(self.conv2(x), 2))
            x = f.relu(self.fc1(drop(x.reshape(x.shape[0], -1))))
            x = f.relu(self.fc2(drop(x)))
            return self.out(drop(x))

    return Net()


def _median_rounds(run):
    times = []
    for _ in range(DROPOUT_ROUNDS):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def _dropout_info(benchmark, backend, threads, median, times):
    benchmark.extra_info.update(
        backend=backend, threads=threads, dtype="float32", mini_batch_size=MINI_BATCH,
        network=DROPOUT_NETWORK, eta=ETA, lmbda=LMBDA, images_per_round=DROPOUT_IMAGES,
        rounds=len(times), round_seconds=[round(t, 4) for t in times], median_seconds=median,
        seconds_per_5000_images=median * 5000 / DROPOUT_IMAGES,
        load_average_1min=os.getloadavg()[0], cores_available_at_start=round(_cores_available(), 2),
        cpu_count=os.cpu_count())


@pytest.mark.benchmark(group="network3-dropout")
@pytest.mark.parametrize("threads", [1, 2])
def test_dropout_network_compiled(benchmark, mnist, threads):
    (tx, ty), (vx, vy), _ = mnist
    x, y = tx[:DROPOUT_IMAGES], ty[:DROPOUT_IMAGES]
    network3.set_num_threads(threads)
    try:
        net = dropout_net()
        out = {}

        def rounds():
            out["median"], out["times"] = _median_rounds(
                lambda: net.SGD((x, y), 1, MINI_BATCH, ETA, (vx[:MINI_BATCH], vy[:MINI_BATCH]), None,
                                lmbda=LMBDA, verbose=False))

        benchmark.pedantic(rounds, rounds=1, iterations=1)
    finally:
        network3.set_num_threads(None)
    _dropout_medians[threads] = out["median"]
    _dropout_info(benchmark, "cython", threads, out["median"], out["times"])


@pytest.mark.benchmark(group="network3-dropout")
@pytest.mark.parametrize("threads", [1, 2])
def test_dropout_network_torch(benchmark, mnist, threads):
    (tx, ty), _, _ = mnist
    with _torch_threads(threads) as torch:
        net = _torch_dropout_net(torch)
        x = torch.from_numpy(np.array(tx[:DROPOUT_IMAGES])).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(np.array(ty[:DROPOUT_IMAGES]))
        ntb = DROPOUT_IMAGES // MINI_BATCH
        named = list(net.named_parameters())
        # network3's L2 term, 0.5*lmbda*sum(w**2)/num_training_batches, on the weights only
        opt = torch.optim.SGD([dict(params=[p for n, p in named if n.endswith("weight")],
                                    weight_decay=LMBDA / ntb),
                               dict(params=[p for n, p in named if n.endswith("bias")],
                                    weight_decay=0.0)], lr=ETA)

        def epoch():
            _torch_epoch(torch, net, opt, x, y)

        out = {}

        def rounds():
            out["median"], out["times"] = _median_rounds(epoch)

        benchmark.pedantic(rounds, rounds=1, iterations=1)
    _dropout_info(benchmark, "torch " + torch.__version__, threads, out["median"], out["times"])
    if threads in _dropout_medians:
        benchmark.extra_info["fastnn_speedup"] = out["median"] / _dropout_medians[threads]


_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    sys.path.insert(0, {bench!r})
    from bench_network3 import two_conv_net, MINI_BATCH, ETA, LMBDA, _data_path
    from fastnn import network3
    data = network3.load_data_shared(_data_path(), expanded={expanded})
    (tx, ty), (vx, vy), _ = data
    n = int({images})
    net = two_conv_net()
    t = time.perf_counter()
    net.SGD((tx[:n], ty[:n]), 1, MINI_BATCH, ETA, (vx, vy), None, lmbda=LMBDA, verbose=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, time.perf_counter() - t, len(tx))
""")


@pytest.mark.benchmark(group="network3-memory")
def test_peak_memory_expanded(benchmark):
    """Peak RSS of a fresh process that loads the 250,000-image expanded set
    and trains on it (``FASTNN_BENCH_EXPANDED_IMAGES``, default all of it)."""
    images = 500 if QUICK else int(os.environ.get("FASTNN_BENCH_EXPANDED_IMAGES", "250000"))
    script = _MEMORY_SCRIPT.format(bench=HERE, images=images, expanded=not QUICK)
    out = {}

    def run():
        r = run_python(script)
        out["peak"], out["seconds"], out["n"] = r.stdout.split()
        return r

    benchmark.pedantic(run, rounds=1, iterations=1)
    peak = int(out["peak"])
    benchmark.extra_info.update(peak_rss_bytes=peak, peak_rss_gib=peak / 2**30, images_trained=images,
                                training_seconds=float(out["seconds"]), dataset_size=int(out["n"]),
                                dtype="float32", threads=network3.get_num_threads())
    assert peak < 2 * 2**30
