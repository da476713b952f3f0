"""Peak memory of training: the array API must train on a C-contiguous
array of the network's dtype without copying it.

Each case runs in a fresh Python process that builds X (50,000 x 784), resets
the kernel's peak-RSS counter (/proc/self/clear_refs), trains one epoch of
[784, 100, 10] and reports how far the peak RSS rose above the resident size
before ``fit``.  Target: at most 50 MB above X itself (which is already
resident).  Linux only.
"""
import json
import sys

import pytest

from conftest import QUICK, run_python

CHILD = r"""
import json, os, sys, time
import numpy as np
from fastnn import MLP
from fastnn.datasets import load_mnist

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
dtype = np.dtype(sys.argv[1])
(X32, y), _, _ = load_mnist(sys.argv[3] if len(sys.argv) > 3 else None)
n = int(sys.argv[2])
X = np.ascontiguousarray(X32[:n], dtype=dtype)
y = y[:n]
net = MLP([784, 100, 10], dtype=dtype, seed=0)
net.fit(X[:100], y[:100], epochs=1)           # warm up imports and code paths
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                # reset VmHWM to the current RSS
before = status("VmRSS")
t = time.perf_counter()
net.fit(X, y, epochs=1, batch_size=10)
seconds = time.perf_counter() - t
print(json.dumps({"x_bytes": X.nbytes, "rss_before": before, "peak": status("VmHWM"),
                  "seconds": seconds}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_peak_memory(benchmark, dtype):
    def run():
        from helpers import find_mnist
        out = run_python(CHILD, dtype, 2000 if QUICK else 50000, *filter(None, [find_mnist()]))
        return json.loads(out.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    extra = result["peak"] - result["rss_before"]
    benchmark.group = "fit peak memory [784, 100, 10]"
    benchmark.extra_info.update(dtype=dtype, sizes="[784, 100, 10]", x_mb=result["x_bytes"] / 1e6,
                                extra_peak_mb=extra / 1e6, fit_seconds=result["seconds"])
    assert extra <= 50e6, "fit raised peak RSS by {:.1f} MB over X ({:.1f} MB)".format(
        extra / 1e6, result["x_bytes"] / 1e6)
