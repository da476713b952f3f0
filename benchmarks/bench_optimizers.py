"""Seconds per epoch with the optimizers beyond the book's SGD, beside PyTorch.

[784, 100, 10] ReLU + softmax (log-likelihood), 50,000 MNIST images, one
thread each, for momentum 0.9, Nesterov, Adam and AdamW at mini-batch 10, 32
and 128, in float32 and float64:

* ``numpy``: fastnn's reference path;
* ``cython``: fastnn's compiled kernels (``MLP.fit``'s kernels, called
  directly as the trainer calls them);
* ``torch``: the same network and optimizer in eager PyTorch, its usual loop
  (skipped when torch is not installed).

``test_adam_agrees_with_torch`` is the exactness row: one epoch of 5,000
rows at mini-batch 32, float64, from the same start in the same order; the
largest difference of any weight between fastnn's compiled Adam and
``torch.optim.Adam`` goes into ``extra_info`` (and must be below 1e-7).

Run:  pytest benchmarks/bench_optimizers.py --benchmark-json=opt.json
"""
import numpy as np
import pytest

from conftest import QUICK, blas_threads
from fastnn import trainer
from fastnn.optimizers import SGD, Adam, AdamW, Step

SIZES = [784, 100, 10]
OPTIMIZERS = {"momentum": (SGD(momentum=0.9), 0.01), "nesterov": (SGD(momentum=0.9, nesterov=True), 0.01),
              "adam": (Adam(), 1e-3), "adamw": (AdamW(), 1e-3)}
BATCHES = [10, 32, 128]
DTYPES = [np.float32, np.float64]
IMPLEMENTATIONS = ["numpy", "cython", "torch"]
ROUNDS = {"numpy": 3, "cython": 7, "torch": 3}
if QUICK:
    OPTIMIZERS = {k: OPTIMIZERS[k] for k in ("nesterov", "adam")}
    BATCHES, DTYPES = [32], [np.float64]
    ROUNDS = dict.fromkeys(ROUNDS, 1)
CASES = [(name, batch, dtype, impl) for name in OPTIMIZERS for batch in BATCHES for dtype in DTYPES
         for impl in IMPLEMENTATIONS]


def initial_parameters(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((y, x)) / np.sqrt(x / 2)).astype(dtype)
               for x, y in zip(SIZES[:-1], SIZES[1:])]
    biases = [np.zeros(y, dtype=dtype) for y in SIZES[1:]]
    return weights, biases


def data(mnist_arrays, dtype, n=None):
    X, labels = mnist_arrays
    n = n or (1000 if QUICK else len(X))
    X = np.ascontiguousarray(X[:n], dtype=dtype)
    return X, labels[:n], np.random.default_rng(1).permutation(n)


def case_id(value):
    return getattr(value, "__name__", str(value))


@pytest.mark.parametrize("name,batch,dtype,impl", CASES, ids=case_id)
def test_epoch(benchmark, mnist_arrays, name, batch, dtype, impl):
    optimizer, rate = OPTIMIZERS[name]
    X, labels, order = data(mnist_arrays, dtype)
    benchmark.group = "epoch {} {} {} mini-batch {}".format(SIZES, np.dtype(dtype).name, name, batch)
    benchmark.extra_info.update(sizes=str(SIZES), dtype=np.dtype(dtype).name, n=len(X),
                                mini_batch=batch, optimizer=repr(optimizer), implementation=impl,
                                blas_threads=str(blas_threads()), kernel_threads=1)
    if impl == "torch":
        setup, run = _torch_epoch(optimizer, rate, batch, dtype, X, labels, order)
    else:
        kernels = trainer.kernels(impl)
        spec = trainer.Spec("relu", "softmax", "log_likelihood")
        Y = np.eye(10, dtype=dtype)[labels]

        def setup():
            weights, biases = initial_parameters(dtype)
            step = Step.for_parameters(list(zip(weights, biases)), len(X), optimizer=optimizer)
            step.eta = rate
            return (weights, biases, step), {}

        def run(weights, biases, step):
            with trainer.one_blas_thread():
                kernels.train(weights, biases, X, Y, order, batch, spec, step)

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS[impl], iterations=1, warmup_rounds=0)


def _torch_model(torch, dtype):
    weights, biases = initial_parameters(dtype)
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    model.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for layer, w, b in zip((model[0], model[2]), weights, biases):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    return model


def _torch_optimizer(torch, model, optimizer, rate):
    params = model.parameters()
    if isinstance(optimizer, SGD):
        return torch.optim.SGD(params, lr=rate, momentum=optimizer.momentum,
                               nesterov=optimizer.nesterov)
    if isinstance(optimizer, AdamW):
        return torch.optim.AdamW(params, lr=rate, betas=optimizer.betas, eps=optimizer.eps,
                                 weight_decay=optimizer.weight_decay)
    return torch.optim.Adam(params, lr=rate, betas=optimizer.betas, eps=optimizer.eps)


def _torch_epoch(optimizer, rate, batch, dtype, X, labels, order):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    Xt = torch.from_numpy(X.copy())
    yt = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    batches = [torch.from_numpy(order[k:k + batch]) for k in range(0, len(X), batch)]

    def setup():
        torch.set_num_threads(1)
        model = _torch_model(torch, dtype)
        return (model, _torch_optimizer(torch, model, optimizer, rate)), {}

    def run(model, opt):
        for rows in batches:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xt[rows]), yt[rows]).backward()
            opt.step()

    return setup, run


def test_adam_agrees_with_torch(benchmark, mnist_arrays):
    """One epoch of 5,000 rows, mini-batch 32, float64: fastnn's Adam against
    ``torch.optim.Adam`` (the largest weight difference in extra_info)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    X, labels, order = data(mnist_arrays, np.float64, n=1000 if QUICK else 5000)
    Y = np.eye(10)[labels]
    spec = trainer.Spec("relu", "softmax", "log_likelihood")
    benchmark.group = "Adam vs torch.optim.Adam, {} rows, mini-batch 32, float64".format(len(X))

    def ours():
        weights, biases = initial_parameters(np.float64)
        step = Step.for_parameters(list(zip(weights, biases)), len(X), optimizer=Adam())
        step.eta = 1e-3
        trainer.kernels("cython").train(weights, biases, X, Y, order, 32, spec, step)
        return weights + biases

    result = benchmark.pedantic(ours, rounds=ROUNDS["cython"], iterations=1, warmup_rounds=0)
    setup, run = _torch_epoch(Adam(), 1e-3, 32, np.float64, X, labels, order)
    (model, opt), _ = setup()
    run(model, opt)
    theirs = [model[0].weight, model[2].weight, model[0].bias, model[2].bias]
    worst = max(float(np.max(np.abs(a - t.detach().numpy()))) for a, t in zip(result, theirs))
    benchmark.extra_info.update(max_abs_difference_vs_torch=worst, rows=len(X))
    assert worst < 1e-7, "fastnn's Adam is {:.3g} from torch.optim.Adam".format(worst)
