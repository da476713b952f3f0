"""Saving and loading networks in the book's JSON format.

network2.py saves ``{"sizes": [...], "weights": [...], "biases": [...],
"cost": "CrossEntropyCost"}`` with weights as nested lists of shape (y, x) and
biases as (y, 1).  fastnn reads and writes exactly that, so files move both
ways between the book's program and fastnn; the array API adds a ``"dtype"``
key, which the book's ``load`` ignores.  Writes are atomic (a temporary file
in the same folder, then a rename), and a loaded file is checked before any
of it is used.
"""
import json

import numpy as np

from ._files import atomic_write
from ._validation import check_sizes
from .costs import CLASSES, cost_class


def save(filename, sizes, weights, biases, cost_name, **extra):
    data = {"sizes": list(sizes),
            "weights": [np.asarray(w).tolist() for w in weights],
            "biases": [np.asarray(b).reshape(-1, 1).tolist() for b in biases],
            "cost": str(cost_name)}
    data.update(extra)
    with atomic_write(filename, "w") as f:
        json.dump(data, f)

def load(filename, cost=None):
    """Read and check a saved network.

    Returns ``(sizes, weights, biases, cost_class, data)`` with float64
    weights of shape (y, x) and biases of shape (y, 1); ``data`` is the whole
    decoded file.  Anything truncated, inconsistent or naming an unknown cost
    raises ValueError naming the file and the problem.  ``cost``, a cost
    class of the caller's own, is what a file naming that class's
    ``__name__`` is loaded with (the file keeps only the name).
    """
    def bad(problem):
        return ValueError("{!r} is not a valid saved network: {}".format(str(filename), problem))

    with open(filename, "rb") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise bad("it is not complete JSON ({}); was the file truncated?".format(exc)) from None
    except RecursionError:
        raise bad("its JSON is nested too deeply to be a network") from None
    if not isinstance(data, dict):
        raise bad("expected a JSON object with keys sizes, weights, biases, cost")
    missing = [k for k in ("sizes", "weights", "biases", "cost") if k not in data]
    if missing:
        raise bad("missing key(s) {}".format(", ".join(missing)))
    try:
        sizes = check_sizes(data["sizes"])
    except (TypeError, ValueError) as exc:
        raise bad("sizes: {}".format(exc)) from None
    known = dict(CLASSES)
    if cost is not None:
        known[cost_class(cost).__name__] = cost_class(cost)
    name = data["cost"]
    cost = known.get(name) if isinstance(name, str) else None
    if cost is None:
        raise bad("unknown cost {!r}; expected one of {}, or pass your own class as "
                  "load(..., cost={})".format(name, ", ".join(CLASSES), name if isinstance(name, str)
                                              and name.isidentifier() else "YourCost"))
    layers = len(sizes) - 1
    for key in ("weights", "biases"):
        if not isinstance(data[key], list) or len(data[key]) != layers:
            raise bad("{} sizes need {} {} arrays, the file has {}".format(
                sizes, layers, key, len(data[key]) if isinstance(data[key], list) else "none"))
    weights, biases = [], []
    for l, (x, y) in enumerate(zip(sizes[:-1], sizes[1:])):
        for key, shape, out in (("weights", (y, x), weights), ("biases", (y, 1), biases)):
            try:
                a = np.array(data[key][l])
            except (TypeError, ValueError):
                a = None
            if a is None or a.dtype.kind not in "iuf":
                raise bad("{}[{}] is not a rectangular array of numbers".format(key, l))
            a = a.astype(np.float64)
            if a.shape != shape:
                raise bad("{}[{}] has shape {}; sizes {} need {}".format(key, l, a.shape, sizes, shape))
            if not np.all(np.isfinite(a)):
                raise bad("{}[{}] holds NaN or infinite values".format(key, l))
            out.append(a)
    return sizes, weights, biases, cost, data
