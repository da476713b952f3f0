"""The memory plan of network3's compiled kernels (``fastnn._core._conv``).

Before a network runs, every layer's geometry and work buffers are worked
out here, in Python integers, and checked: the kernels hold sizes in C
ints, index with products of them and hand BLAS 32-bit dimensions, so a
network is refused, naming the layer, when one of its buffers would hold
more than 2**31-1 values (then every index product inside the kernels stays
below it too), or when all its buffers together would not fit in the
machine's memory.  Nothing is allocated for a network the kernels cannot
hold.

``plan(specs, mini_batch_size, num_threads, dtype)`` returns the plan that
``_conv.Net(specs, plan)`` is built from.  Each layer's entry holds its
``kind``, its ``geometry`` (sizes of the input, the convolution, the
pooling, and ``chunk``: the examples one im2col GEMM takes) and its
``buffers``, name -> (what it is, shape).  The kernel module checks that the
plan fits the specs (cheap integer identities) before it allocates, and
then only follows it.
"""
import os

import numpy as np

#: The most values one buffer may hold: what a C int indexes.
INT_LIMIT = 2**31 - 1

LAYER_NAMES = {"conv": "ConvPoolLayer", "fc": "FullyConnectedLayer", "softmax": "SoftmaxLayer"}

#: Buffers of C ints; the others hold the network's dtype.
INT_BUFFERS = ("argmax", "rowidx", "touched")


def plan(specs, mini_batch_size, num_threads, dtype):
    """The plan of a network of ``specs`` (``network3``'s layer specs), run
    ``mini_batch_size`` examples at a time on ``num_threads`` threads:
    a dict with ``m``, ``ng`` (the groups the mini-batch is split into),
    ``nthreads``, ``dtype`` and ``layers`` (one entry per spec).
    MemoryError naming the layer for a network too large for the kernels or
    the machine; ValueError for sizes that do not fit together."""
    for name, value in (("mini_batch_size", mini_batch_size), ("num_threads", num_threads)):
        if not 1 <= value <= INT_LIMIT:
            raise ValueError("{} must be at least 1 and at most 2**31-1, not {}".format(name, value))
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype must be float32 or float64")
    m, nthreads = int(mini_batch_size), int(num_threads)
    ng = min(nthreads, m)
    if not specs or specs[-1].get("kind") != "softmax":
        raise ValueError("the last layer must be a SoftmaxLayer")
    layers = [plan_layer(l, spec, m, ng, nthreads, dtype) for l, spec in enumerate(specs)]
    for l in range(1, len(layers)):
        if layers[l]["geometry"]["in_size"] != layers[l - 1]["geometry"]["out_size"]:
            raise ValueError("layer {} takes {} inputs but the layer before gives {}".format(
                l, layers[l]["geometry"]["in_size"], layers[l - 1]["geometry"]["out_size"]))
    check_memory(layers, dtype.itemsize)
    return dict(m=m, ng=ng, nthreads=nthreads, dtype=dtype, layers=layers)


def plan_layer(l, spec, m, ng, nthreads, dtype):
    """Layer ``l``'s geometry and work buffers (name -> (description,
    shape)), all in Python integers, after checking that every count stays
    within what a C int holds."""
    kind = spec.get("kind")
    if kind not in LAYER_NAMES:
        raise ValueError("layer {}: unknown kind {!r}".format(l, kind))
    w, b = spec["w"], spec["b"]
    for name, arr in (("w", w), ("b", b)):
        if not (isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.flags.c_contiguous
                and arr.flags.writeable):
            raise TypeError("layer {} {}: expected a writable C-contiguous {} array".format(
                l, name, dtype))
    if kind == "conv":
        _, C, H, W = (int(v) for v in spec["image_shape"])
        F, c2, KH, KW = (int(v) for v in spec["filter_shape"])
        PH, PW = (int(v) for v in spec["poolsize"])
        if min(C, H, W, F, c2, KH, KW, PH, PW) < 1:
            raise ValueError("layer {}: image_shape, filter_shape and poolsize must be "
                             "positive".format(l))
        if c2 != C or KH > H or KW > W:
            raise ValueError("layer {}: filter_shape does not fit image_shape".format(l))
        OH, OW = H - KH + 1, W - KW + 1
        QH, QW = OH // PH, OW // PW
        if QH < 1 or QW < 1:
            raise ValueError("layer {}: poolsize larger than the convolution output".format(l))
        if w.shape != (F, C, KH, KW) or b.shape != (F,):
            raise ValueError("layer {}: w or b has the wrong shape".format(l))
        K, P, Q = C * KH * KW, OH * OW, QH * QW
        # examples per GEMM: enough columns for BLAS to run at full speed (>= 128),
        # few enough that the im2col matrix stays in cache (<= ~256 KB)
        chunk = max(1, min(m, max(-(-128 // P), (256 * 1024) // (K * P * dtype.itemsize))))
        g = dict(C=C, H=H, W=W, F=F, KH=KH, KW=KW, OH=OH, OW=OW, PH=PH, PW=PW, QH=QH, QW=QW,
                 K=K, P=P, Q=Q, chunk=chunk, in_size=C * H * W, out_size=F * Q)
        bufs = dict(col=("im2col", (ng, K * chunk * P)), conv=("convolution", (ng, F * chunk * P)),
                    dcol=("im2col gradient", (ng, K * P)), touched=("positions", (ng, P)),
                    gw=("weight gradient", (ng, F * K)), gb=("bias gradient", (ng, F)),
                    grad_w=("weight gradient", (F * K,)), grad_b=("bias gradient", (F,)),
                    argmax=("pooling", (m, F * Q)))
    else:
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError("layer {}: w or b has the wrong shape".format(l))
        n_in, n_out = (int(v) for v in w.shape)
        g = dict(in_size=n_in, out_size=n_out)
        bufs = dict(xd=("input", (m, n_in)), gw=("weight gradient", (1,)),
                    gb=("bias gradient", (1,)), zpart=("partial sums", (ng, m * n_out)),
                    rowbuf=("row", (ng, n_out + m)), rowidx=("row", (ng, m)),
                    grad_w=("weight gradient", (n_in * n_out,)), grad_b=("bias gradient", (n_out,)))
    bufs["act_buf"] = ("activation", (m, g["out_size"]))
    bufs["dact_buf"] = ("activation gradient", (m, g["out_size"]))
    # every other size is at most one of these counts (the threads split the
    # mini-batch and the dense layers' rows with int products: those too)
    counts = {"input": g["in_size"], "output": g["out_size"], "weights": w.size,
              "split of the mini-batch": m * ng, "split of its rows": g["in_size"] * nthreads}
    counts.update(("{} buffer".format(what), count(shape)) for what, shape in bufs.values())
    name, worst = max(counts.items(), key=lambda item: item[1])
    if worst > INT_LIMIT:
        raise MemoryError(
            "layer {} ({}) is too large for the compiled kernels: its {} would hold {:,} values "
            "({}), and they index at most 2**31-1; its work buffers would need {} in all "
            "(use a smaller filter, image or mini-batch)".format(
                l, LAYER_NAMES[kind], name, worst, describe_bytes(worst * dtype.itemsize),
                describe_bytes(layer_bytes(bufs, dtype.itemsize))))
    return dict(kind=kind, geometry=g, buffers=bufs)


def count(shape):
    """The values an array of ``shape`` holds, as a Python int."""
    n = 1
    for s in shape:
        n *= int(s)
    return n


def layer_bytes(bufs, itemsize):
    """The bytes of one layer's work buffers."""
    return sum(count(shape) * (4 if name in INT_BUFFERS else itemsize)
               for name, (what, shape) in bufs.items())


def describe_bytes(n):
    """``n`` bytes for a message: "17.3 GB = 17,318,... bytes"."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return "{:.1f} {} = {:,} bytes".format(n / size, unit, n)
    return "{:,} bytes".format(n)


def physical_memory():
    """The machine's memory in bytes, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(layers, itemsize):
    """MemoryError, naming the largest layer, when the work buffers of all
    the layers together would not fit in the machine's memory."""
    sizes = [layer_bytes(layer["buffers"], itemsize) for layer in layers]
    total = sum(sizes)
    limit = physical_memory()
    if limit is not None and total > limit:
        l = max(range(len(sizes)), key=sizes.__getitem__)
        raise MemoryError(
            "the network's work buffers would need {}, more than this machine's {} of memory; "
            "layer {} ({}) needs {} of it".format(describe_bytes(total), describe_bytes(limit), l,
                                                 LAYER_NAMES[layers[l]["kind"]],
                                                 describe_bytes(sizes[l])))
