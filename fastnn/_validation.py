"""Checks at the Python boundary.

The compiled kernels run with bounds checks off, so everything they are handed
is checked here, once, before any kernel runs: a bad argument becomes a Python
exception that names the problem instead of a crash or silent garbage.
Arrays of another float dtype or layout are converted (one copy), not refused.
"""
import numbers
import os
import warnings

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)
_CHUNK_ROWS = 512   # finite checks run in chunks so they never allocate a full-size mask


def check_dtype(dtype):
    """Return ``dtype`` as np.float32 or np.float64, or raise TypeError."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError, OverflowError):
        raise TypeError("dtype must be float32 or float64, not {!r}".format(dtype)) from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype must be float32 or float64, not {}".format(dt))
    return dt.type


# BLAS takes matrix dimensions as 32-bit ints.
BLAS_DIM_LIMIT = 2**31 - 1


def _memory_bytes():
    """The machine's physical memory in bytes (None where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_sizes(sizes):
    """Layer sizes: a sequence of at least two whole numbers, each >= 1.

    Sizes are also refused when a layer would not fit BLAS's 32-bit matrix
    dimensions, or when a weight matrix (float64, the largest dtype) would
    not fit in the machine's memory: better a message naming the size now
    than a MemoryError, or worse, at the first matrix product."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError("sizes must be a list of layer sizes such as [784, 30, 10], "
                        "not {!r}".format(sizes)) from None
    if len(sizes) < 2:
        raise ValueError("sizes must name at least an input and an output layer, got {!r}".format(sizes))
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError("sizes[{}] = {!r} is not a whole number".format(i, s))
        if s < 1:
            raise ValueError("sizes[{}] = {} : every layer needs at least one neuron".format(i, s))
        if s > BLAS_DIM_LIMIT:
            raise ValueError("sizes[{}] = {} is too large: BLAS takes at most {} neurons "
                             "per layer".format(i, s, BLAS_DIM_LIMIT))
    for i in range(1, len(sizes)):
        check_matrix_fits(sizes[i], sizes[i - 1], "sizes[{}] = {}".format(i, sizes[i]))
    return [int(s) for s in sizes]


def check_matrix_fits(rows, cols, what, itemsize=8):
    """A ValueError naming ``what`` when a ``rows`` x ``cols`` weight matrix
    would not fit in the machine's memory (float64 unless told)."""
    memory = _memory_bytes()
    need = itemsize * int(rows) * int(cols)
    if memory and need > memory:
        raise ValueError("{} is too large: a {} x {} weight matrix needs {:.3g} GB, more than "
                         "this machine's {:.3g} GB of memory".format(what, rows, cols, need / 1e9,
                                                                      memory / 1e9))


def check_layer_size(value, name):
    """A layer's neuron count: a whole number from 1 to BLAS's 32-bit limit."""
    value = check_positive_int(value, name)
    if value > BLAS_DIM_LIMIT:
        raise ValueError("{} = {} is too large: BLAS takes at most {} neurons per layer".format(
            name, value, BLAS_DIM_LIMIT))
    return value


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError("{} must be a whole number, not {!r}".format(name, value))
    if value < 1:
        raise ValueError("{} must be at least 1, got {}".format(name, value))
    return int(value)


def check_epochs(epochs):
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral):
        raise TypeError("epochs must be a whole number, not {!r}".format(epochs))
    if epochs < 0:
        raise ValueError("epochs must be >= 0, got {}".format(epochs))
    return int(epochs)


def check_flag(value, name):
    """A yes/no argument: True, False (numpy's too), or 1 or 0."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise TypeError("{} must be True or False, not {!r}".format(name, value))


def check_real(value, name):
    """A finite real number (eta, lmbda)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a real number, not {!r}".format(name, value))
    value = float(value)
    if not np.isfinite(value):
        raise ValueError("{} must be finite, got {}".format(name, value))
    return value


def check_eta(value, name="eta"):
    """A learning rate: finite and not negative (a negative rate climbs the cost)."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError("{} must be >= 0, got {}: a negative learning rate would climb the cost "
                         "instead of descending it".format(name, value))
    return value


def check_lmbda(value, name="lmbda"):
    """An L2 strength: finite and not negative (a negative one would grow
    every weight at each step instead of shrinking it)."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError("{} must be >= 0, got {}: a negative L2 strength would grow the weights "
                         "instead of shrinking them".format(name, value))
    return value


def check_finite(a, name):
    """Raise ValueError naming the first entry of ``a`` holding NaN or inf:
    its row (example) and, for arrays of more than one dimension, its
    position within the flattened row (feature)."""
    if a.size == 0:
        return
    if a.dtype.kind in "biu":
        return
    if np.isfinite(value_range(a)).all():
        return      # the least and greatest carry any NaN or inf: one pass, no mask
    a2 = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
    for start in range(0, len(a2), _CHUNK_ROWS):
        block = a2[start:start + _CHUNK_ROWS]
        ok = np.isfinite(block)
        if not ok.all():
            row, col = np.unravel_index(int(np.argmin(ok)), ok.shape)
            where = "example {}".format(start + int(row))
            if a.ndim > 1:
                where += ", feature {}".format(int(col))
            raise ValueError("{} holds NaN or inf (first at {})".format(name, where))


def value_range(a):
    """``(least, greatest)`` entry of a non-empty numeric array, both NaN when
    any entry is NaN; one compiled pass over float32 and float64 data."""
    if a.dtype.kind == "f" and a.flags.c_contiguous:
        from ._core._pairs import value_range as compiled
        found = compiled(a)
        if found is not None:
            return found
    return float(a.min()), float(a.max())


def as_array(a, name):
    """``np.asarray(a)``, with ragged nested lists reported as ours, by ``name``."""
    try:
        return np.asarray(a)
    except ValueError as exc:
        raise ValueError("{} is not a rectangular array: {}".format(name, exc)) from None


def as_float_matrix(a, width, dtype, name, inputs=False):
    """``a`` as a C-contiguous (n, width) array of ``dtype``, n >= 1, all finite.

    No copy is made when ``a`` already is one.  With ``inputs`` (the X a
    network reads, never writes), float32 is also accepted for a float64
    network: the kernels convert each row exactly as they use it, so a
    float32 data set need not be held twice, once as float64.
    """
    a = as_array(a, name)
    if a.dtype.kind not in "biuf":
        raise TypeError("{} must be numeric, got an array of {}".format(name, a.dtype))
    if a.ndim != 2:
        raise ValueError("{} must be 2-D (examples, features), got shape {}".format(name, a.shape))
    if a.shape[0] == 0:
        raise ValueError("{} is empty".format(name))
    if a.shape[1] != width:
        raise ValueError("{} has {} features per example; the network's input layer has {}".format(
            name, a.shape[1], width))
    if inputs and dtype == np.float64 and a.dtype == np.float32:
        dtype = np.float32
    a = np.ascontiguousarray(a, dtype=dtype)
    check_finite(a, name)
    return a


#: Inputs larger than this in magnitude saturate sigmoid neurons from the first step.
UNSCALED_LIMIT = 20.0

#: Inputs reaching this many times further from zero than the training inputs
#: did are taken to be on another scale (``warn_if_off_scale``).
OFF_SCALE_FACTOR = 4.0

def outside_fastnn():
    """The ``stacklevel`` that points a warning at the first caller outside
    the fastnn package (however deep inside it the warning is raised)."""
    import os
    import sys
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def looks_like_pixels(X, bounds):
    """True when ``X`` (with ``bounds = (least, greatest)``) looks like raw
    8-bit pixel values: whole numbers in [0, 255], some above 1.  For float
    arrays the whole-number test reads only the first rows."""
    lo, hi = bounds
    if not (lo >= 0 and 1 < hi <= 255):
        return False
    if X.dtype.kind in "biu":
        return True
    first = X[:64] if X.ndim else X         # (a scalar: the shape check that follows refuses it)
    return bool(np.all(first == np.round(first)))


def warn_if_unscaled(X, name, bounds=None, activation="sigmoid"):
    """Warn when the scale of ``X`` keeps a network from learning; return
    ``value_range(X)`` (None for data that is not numeric).

    Training still goes ahead (the data may be meant that way).  Two cases
    are flagged, each with its fix:

    - raw 8-bit pixels (whole numbers in [0, 255]): whatever the
      activation, inputs two hundred times larger than the [0, 1] the
      initial weights are scaled for make the first steps huge;
    - for sigmoid hidden neurons (``activation``), any input beyond
      ``UNSCALED_LIMIT`` in magnitude: those neurons saturate and learn
      next to nothing.  Standardized inputs that reach that far on a few
      rows are harmless for tanh and ReLU neurons, so they are not flagged.

    The warning points at the first caller outside fastnn.  ``bounds``:
    ``value_range(X)``, when the caller has it already.
    """
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError:      # ragged: the shape check that follows says so
            return None
    if X.size == 0 or X.dtype.kind not in "biuf":
        return None
    bounds = value_range(X) if bounds is None else bounds     # no temporary copy of X
    lo, hi = bounds
    if looks_like_pixels(X, bounds):
        warnings.warn("{}: values up to {:g} look like raw 8-bit pixels. Scale the inputs to "
                      "[0, 1] first: divide them by 255.".format(name, hi),
                      UserWarning, stacklevel=outside_fastnn())
    elif activation == "sigmoid" and max(abs(lo), abs(hi)) > UNSCALED_LIMIT:
        warnings.warn("{}: values up to {:g}; sigmoid neurons saturate on inputs this large and "
                      "training learns little. Scale the inputs to [0, 1] first (for example "
                      "with scikit-learn's MinMaxScaler), or train tanh or ReLU neurons on "
                      "standardized inputs.".format(name, max(abs(lo), abs(hi))),
                      UserWarning, stacklevel=outside_fastnn())
    return float(lo), float(hi)


def merge_ranges(a, b):
    """The smallest range holding ranges ``a`` and ``b`` (either may be None)."""
    if a is None or b is None:
        return a if b is None else b
    return min(a[0], b[0]), max(a[1], b[1])


def warn_if_off_scale(bounds, trained, name):
    """Warn when inputs with ``bounds`` reach far beyond ``trained``, the
    range of the inputs the network was trained on (more than
    ``OFF_SCALE_FACTOR`` times further from zero): typically 0..255 pixels
    scored on a network trained on [0, 1], which silently loses accuracy.
    Nothing to compare (either None, or training inputs all 0): silent."""
    if bounds is None or trained is None:
        return
    reach = max(abs(bounds[0]), abs(bounds[1]))
    trained_reach = max(abs(trained[0]), abs(trained[1]))
    if trained_reach > 0 and reach > OFF_SCALE_FACTOR * trained_reach:
        warnings.warn("{}: values reach {:g}, but the network was trained on inputs in "
                      "[{:.3g}, {:.3g}]: scale them as the training inputs were scaled (pixels "
                      "trained on [0, 1]: divide by 255).".format(
                          name, reach, trained[0], trained[1]),
                      UserWarning, stacklevel=outside_fastnn())


def check_input_range(value, name):
    """A saved training-input range: None or two finite numbers, least first."""
    if value is None:
        return None
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not all(np.isfinite(value)) or value[0] > value[1]):
        raise ValueError("{} must be two finite numbers [least, greatest], not {!r}".format(
            name, value))
    return float(value[0]), float(value[1])


def check_labels(y, n, n_classes, name):
    """Integer class labels: shape (n,), each in [0, n_classes)."""
    y = as_array(y, name)
    if y.shape != (n,):
        raise ValueError("{} must hold one label per example, shape ({},), got {}".format(name, n, y.shape))
    if y.dtype.kind not in "iu":
        if not (y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise TypeError("{} must be integer class labels, got {}".format(name, y.dtype))
    if n and (y.min() < 0 or y.max() >= n_classes):
        bad = int(np.argmax((y < 0) | (y >= n_classes)))
        raise ValueError("{}[{}] = {} is out of range: the output layer has {} classes (0..{})".format(
            name, bad, y[bad], n_classes, n_classes - 1))
    return y.astype(np.intp, copy=False)


def one_hot(labels, n_classes, dtype):
    """Rows of zeros with a 1.0 in each example's label column."""
    Y = np.zeros((len(labels), n_classes), dtype=dtype)
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


# -- layer attributes (network3's layers) -----------------------------------------

def check_shape(value, n, name):
    """``value`` as a tuple of ``n`` whole numbers >= 1, or an error naming ``name``."""
    try:
        t = tuple(value)
    except TypeError:
        raise TypeError("{} must be a tuple of {} whole numbers, not {!r}".format(name, n, value)) from None
    if len(t) != n or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                          for v in t):
        raise ValueError("{} must be {} whole numbers >= 1, not {!r}".format(name, n, value))
    return tuple(int(v) for v in t)


def check_p_dropout(p):
    """A dropout probability: a number in [0, 1)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 <= p < 1.0):
        raise ValueError("p_dropout must be a number in [0, 1), not {!r}".format(p))
    return float(p)


def checked_attribute(name, check):
    """A layer attribute that is checked whenever it is assigned, in
    ``__init__`` or later, so the kernels never read a value they cannot
    use (a zero pool side would divide by zero in C)."""
    private = "_" + name

    def get(self):
        return getattr(self, private)

    def set(self, value):
        setattr(self, private, check(value))
    return property(get, set, doc="{} (checked when assigned)".format(name))


def layer_parameter(layer, name, shape, dtype, source):
    """``layer.w`` or ``layer.b``, which users may reassign (the book's
    layers hold them as shared variables), checked as the kernels read it:
    numeric, of ``shape`` (which the attribute ``source`` sets), finite.  An
    array of another dtype or layout is converted and put back on the layer,
    so training updates the layer's own parameters."""
    value = getattr(layer, name)
    try:
        a = np.asarray(value)
    except ValueError:
        raise ValueError("{} is not a rectangular array".format(name)) from None
    if a.dtype.kind not in "biuf":
        raise TypeError("{} must hold numbers, not {}".format(name, a.dtype))
    if a.shape != shape:
        raise ValueError("{} has shape {}, but {} needs {}".format(name, a.shape, source, shape))
    if not (a is value and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable):
        a = np.array(a, dtype=dtype, order="C")
        setattr(layer, name, a)
    check_finite(a, name)
    return a


def as_rectangular(a, name):
    """``np.asarray(a)``, with a message naming ``name`` for ragged lists."""
    try:
        return np.asarray(a)
    except ValueError as exc:
        raise ValueError("{} is not a rectangular array: {}".format(name, exc)) from None
