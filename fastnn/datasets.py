"""MNIST for the book's programs: find it, fetch it once, read it fast.

The book ships ``mnist.pkl.gz``, a Python 2 pickle of the digits already split
and scaled.  Here the same three data sets are built from the four original
IDX files of the MNIST distribution (or from ``mnist.pkl.gz`` if that is what
you have), so the book's ``load_data()`` works without the book's repository.

Where the data comes from, in this order:

1. the ``path`` argument of :func:`load_mnist` / :func:`find_data`;
2. the ``FASTNN_DATA`` environment variable;
3. a per-user cache, :func:`cache_dir` (``$XDG_CACHE_HOME/fastnn/mnist`` or
   ``~/.cache/fastnn/mnist``), filled on first use by :func:`download_mnist`.

``path`` and ``FASTNN_DATA`` name either a directory holding the four IDX
files (gzipped or not) or ``mnist.pkl.gz``, or the ``mnist.pkl.gz`` file
itself.  When one of them is given and the files are not there, we raise
rather than download: you asked for *those* files, and a silent download
would hide the typo.

This module imports only the standard library and numpy.
"""
import collections
import gzip
import hashlib
import math
import os
import pickle
import sys
import urllib.parse
import urllib.request
import zlib

import numpy as np

from ._files import atomic_write

__all__ = [
    "MNIST_FILES", "MIRRORS", "DownloadError", "DataLocation",
    "read_idx", "cache_dir", "find_data", "download_mnist",
    "load_mnist", "load_mnist_raw", "load_expanded_pickle", "clear_cache",
]

#: The four files of the MNIST distribution: published md5 and size in bytes
#: of each ``.gz`` file.  Downloads are checked against these.
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": {"md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873", "size": 9912422},
    "train-labels-idx1-ubyte.gz": {"md5": "d53e105ee54ea40749a09fcbcd1e9432", "size": 28881},
    "t10k-images-idx3-ubyte.gz": {"md5": "9fb629c4189551a2d022fa330f9573f3", "size": 1648877},
    "t10k-labels-idx1-ubyte.gz": {"md5": "ec29112dd5afa0611ce80d1b7f02629c", "size": 4542},
}

#: Public mirrors of the files above, tried in order.  The environment variable
#: ``FASTNN_MNIST_MIRROR`` replaces the list with a single base URL (which may
#: be a ``file://`` URL).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: The book's pickle: ((train images, labels), (validation ...), (test ...)).
PICKLE_NAME = "mnist.pkl.gz"

# Role of each file -> its name in MNIST_FILES.
_ROLES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

_N_VALIDATION = 10000

_HOW_TO_POINT = (
    "To use local copies, pass path=<directory holding the four MNIST IDX files "
    "(.gz or uncompressed) or mnist.pkl.gz, or the mnist.pkl.gz file itself>, "
    "or set the environment variable FASTNN_DATA to such a path.")


class DownloadError(RuntimeError):
    """No mirror delivered a file whose md5 matched the published value."""


#: Where the data was found.  ``kind`` is ``"idx"`` (``files`` maps
#: train_images, train_labels, test_images, test_labels to paths) or
#: ``"pickle"`` (``files`` maps ``"pickle"`` to the mnist.pkl.gz path).
DataLocation = collections.namedtuple("DataLocation", "kind files")


# --------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------

# IDX type code -> numpy dtype as stored on disk (big-endian).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


#: The most bytes of array data one IDX file may declare: MNIST's largest,
#: the training images, hold 47,040,000.  Checked before anything is
#: decompressed or allocated, so a hostile header costs nothing.
MAX_IDX_BYTES = 64 << 20


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_data(path):
    """``path`` opened for reading, decompressed if gzipped (sniffed, not by name)."""
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def read_idx(path):
    """Read an IDX file (gzipped or not) into a writable numpy array.

    IDX is the format of the MNIST distribution: two zero bytes, a type code,
    the number of dimensions, one big-endian uint32 per dimension, then the
    data in C order.  MNIST images come back as uint8 of shape (n, 28, 28),
    labels as uint8 of shape (n,).  Multi-byte types are returned in native
    byte order.

    A file whose payload is shorter or longer than its header promises raises
    ValueError naming the file: a half-downloaded file should fail here, not
    as a strange accuracy three chapters later.  The header is read and
    checked first, and at most the bytes it declares (no more than
    :data:`MAX_IDX_BYTES`) are decompressed, so a small hostile file cannot
    make the reader hold gigabytes.
    """
    path = os.fspath(path)
    with _open_data(path) as f:      # a missing or unreadable file raises here, as itself
        try:
            return _read_idx_stream(path, f)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError("{}: corrupt or truncated file ({})".format(path, e)) from None


def _read_idx_stream(path, f):
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise ValueError(
            "{}: not an IDX file (bad magic bytes {!r}; expected 00 00 <type code in "
            "{}> <ndim>)".format(path, magic, ", ".join("0x%02X" % c for c in _IDX_DTYPES)))
    dtype, ndim = _IDX_DTYPES[magic[2]], magic[3]
    if ndim == 0:
        raise ValueError("{}: IDX header gives 0 dimensions".format(path))
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError("{}: truncated IDX header: expected {} bytes for {} dimensions, "
                         "found {}".format(path, 4 + 4 * ndim, ndim, 4 + len(dims)))
    shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
    expected = math.prod(shape) * dtype.itemsize
    # with a zero among them, huge dimensions declare no bytes but still no array numpy can shape
    if math.prod(d for d in shape if d) * dtype.itemsize > MAX_IDX_BYTES:
        raise ValueError("{}: IDX header declares shape {} of {}, larger than any MNIST file "
                         "(at most {:,} bytes of data)".format(path, shape, dtype.name, MAX_IDX_BYTES))
    data = f.read(expected)
    found = len(data) + len(f.read(1))       # one byte more tells trailing bytes apart
    if found != expected:
        raise ValueError(
            "{}: IDX header says shape {} of {} = {} bytes of data, but found {} bytes "
            "({})".format(path, shape, dtype.name, expected,
                          found if found < expected else "more than that",
                          "truncated" if found < expected else "trailing bytes"))
    array = np.frombuffer(data, dtype).reshape(shape)
    # One copy: it makes the array writable and native-endian.
    return array.astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------
# Locating the data
# --------------------------------------------------------------------------

def cache_dir():
    """The per-user download cache: ``$XDG_CACHE_HOME/fastnn/mnist``, or
    ``~/.cache/fastnn/mnist`` when XDG_CACHE_HOME is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastnn", "mnist")


def _idx_candidates(name):
    """Names a file may have on disk: as published (``.gz``), gunzipped, and
    gunzipped by tools that keep the name stored in the archive
    (``train-images.idx3-ubyte``)."""
    plain = name[:-3]
    dotted = plain.replace("-idx", ".idx")
    return (name, plain, dotted, dotted + ".gz")


def _find_idx(directory):
    """(files found by role, names of the files missing) in ``directory``."""
    found, missing = {}, []
    for role, name in _ROLES.items():
        for candidate in _idx_candidates(name):
            full = os.path.join(directory, candidate)
            if os.path.isfile(full):
                found[role] = full
                break
        else:
            missing.append(name)
    return found, missing


def _locate(path, origin):
    """Find the data at ``path`` (from ``origin``, for messages) or raise."""
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if os.path.isfile(path):
        name = os.path.basename(path)
        if any(name in _idx_candidates(n) for n in MNIST_FILES):
            raise FileNotFoundError(
                "{} {} is one of the four MNIST IDX files; point at the directory holding "
                "all four instead. {}".format(origin, path, _HOW_TO_POINT))
        return DataLocation("pickle", {"pickle": path})
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError("{} {} is neither a file nor a directory (a device or a pipe?). {}".format(
            origin, path, _HOW_TO_POINT))
    if not os.path.isdir(path):
        raise FileNotFoundError("MNIST data not found: {} {} does not exist. {}".format(
            origin, path, _HOW_TO_POINT))
    try:
        os.listdir(path)         # an unreadable directory must not look like missing files
    except OSError as e:
        raise type(e)("MNIST data directory {} (given by {}) cannot be read: {}".format(
            path, origin, e.strerror or e)) from None
    found, missing = _find_idx(path)
    if not missing:
        return DataLocation("idx", found)
    pkl = os.path.join(path, PICKLE_NAME)
    if os.path.isfile(pkl):
        return DataLocation("pickle", {"pickle": pkl})
    raise FileNotFoundError(
        "MNIST data not found in directory {} (given by {}): missing {} "
        "(gzipped or uncompressed), and no {} there either. {}".format(
            path, origin, ", ".join(missing), PICKLE_NAME, _HOW_TO_POINT))


def find_data(path=None):
    """Return the :class:`DataLocation` of MNIST, downloading it if needed.

    Looks at ``path``, then ``$FASTNN_DATA``, then :func:`cache_dir`.  Only the
    cache is ever filled by downloading (see the module docstring for why).
    When a directory holds both the IDX files and mnist.pkl.gz, the IDX files
    win: they are the original data and they also serve :func:`load_mnist_raw`.
    """
    if path is not None:
        return _locate(path, "the path argument")
    env = os.environ.get("FASTNN_DATA")
    if env:
        return _locate(env, "FASTNN_DATA")
    cache = cache_dir()
    found, missing = _find_idx(cache)
    if missing and os.path.isfile(os.path.join(cache, PICKLE_NAME)):
        return DataLocation("pickle", {"pickle": os.path.join(cache, PICKLE_NAME)})
    if missing:
        download_mnist(cache)
        found, missing = _find_idx(cache)
    return DataLocation("idx", found)


# --------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------

def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Progress:
    """Download progress on stderr: one line redrawn on a terminal, otherwise
    a single line growing by one mark per 10% (no spam in CI logs)."""

    def __init__(self, name, url, size):
        self.size, self.tty = size, _isatty(sys.stderr)
        self.shown = 0
        self._write("fastnn: downloading {} ({:,} bytes) from {}{}".format(
            name, size, url, "\n" if self.tty else " "))

    def _write(self, text):
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):       # closed or missing stderr
            pass

    def update(self, done):
        if self.tty:
            step = 100 * done // self.size
            if step > self.shown:
                self.shown = step
                self._write("\r  {:3d}%  {:,} / {:,} bytes".format(step, done, self.size))
        else:
            step = min(10, 10 * done // self.size)
            while self.shown < step:
                self.shown += 1
                self._write("{}%{}".format(10 * self.shown, " " if self.shown < 10 else ""))

    def close(self, ok):
        self._write("\n" if ok else (" failed\n" if self.tty else "failed\n"))


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _fetch(url, target, md5, size):
    """Download ``url`` to ``target`` atomically, checking the md5 first.

    The bytes go to a temporary file in the same directory, and only a file
    with the right md5 is renamed into place (``os.replace`` is atomic), so an
    interrupted or corrupt download never leaves a file that looks complete.
    """
    name = os.path.basename(target)
    # Connect before saying anything: a machine without a network gets one
    # error at the end (download_mnist), not a "failed" line per file and mirror.
    response = urllib.request.urlopen(url, timeout=60)
    progress = _Progress(name, url, size)
    ok = False
    try:
        h, done = hashlib.md5(), 0
        with atomic_write(target, suffix=".part") as out, response:
            while True:
                block = response.read(1 << 16)
                if not block:
                    break
                done += len(block)
                if done > size:       # a mirror serving something else entirely
                    raise ValueError("more than the expected {:,} bytes".format(size))
                h.update(block)
                out.write(block)
                progress.update(done)
            if h.hexdigest() != md5:
                raise ValueError("md5 mismatch: got {} ({:,} bytes), expected {} ({:,} bytes)".format(
                    h.hexdigest(), done, md5, size))
        ok = True
    finally:
        progress.close(ok)

def download_mnist(dest=None, mirrors=None):
    """Download the four MNIST files into ``dest`` (default :func:`cache_dir`).

    Files already in ``dest`` with the published md5 are kept; the others are
    fetched from ``mirrors`` (default: ``$FASTNN_MNIST_MIRROR`` if set, else
    :data:`MIRRORS`), trying the next mirror when one fails or serves a file
    with the wrong md5.  Raises :class:`DownloadError` listing every mirror's
    error when a file cannot be had.  Returns ``dest``.
    """
    dest = os.path.abspath(os.path.expanduser(os.fspath(dest if dest is not None else cache_dir())))
    if mirrors is None:
        env = os.environ.get("FASTNN_MNIST_MIRROR")
        mirrors = [env] if env else list(MIRRORS)
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    os.makedirs(dest, exist_ok=True)
    failures = {}
    unreachable = None      # the first file no mirror could even be reached for
    for name, info in MNIST_FILES.items():
        target = os.path.join(dest, name)
        if os.path.isfile(target) and _md5(target) == info["md5"]:
            continue
        if unreachable is not None:
            failures[name] = ["not tried: no mirror could be reached for {}".format(unreachable)]
            continue
        errors, offline = [], True
        for base in mirrors:
            url = urllib.parse.urljoin(base.rstrip("/") + "/", name)
            try:
                _fetch(url, target, info["md5"], info["size"])
                break
            except Exception as e:   # any failure of one mirror: try the next
                errors.append("{}: {}: {}".format(url, type(e).__name__, e))
                offline = offline and isinstance(e, OSError)
        else:
            failures[name] = errors
            if offline and errors:
                unreachable = name
    if failures:
        lines = ["could not download MNIST into the cache directory {} (no path argument "
                 "and FASTNN_DATA not set, so fastnn looked there). Missing: {}.".format(
                     dest, ", ".join(failures))]
        for name, errors in failures.items():
            lines.append("  {}:".format(name))
            lines.extend("    " + e for e in errors or ["no mirrors given"])
        lines.append(_HOW_TO_POINT + " The mirror can be replaced with FASTNN_MNIST_MIRROR=<base URL>.")
        raise DownloadError("\n".join(lines))
    return dest


# --------------------------------------------------------------------------
# The book's mnist.pkl.gz
# --------------------------------------------------------------------------

#: The most bytes the book's pickle may decompress to, and the most any array
#: in it may hold: the book's mnist.pkl.gz holds about 220 MB of arrays, and
#: a copy rewritten by Python 3 at protocol 2 stores their bytes as UTF-8
#: text, up to twice as long.
MAX_PICKLE_BYTES = 512 << 20

#: What a pickle may declare before anything it declares is allocated: the
#: most bytes one array may hold, the most bytes the whole stream may
#: decompress to, and what the pickle is said to be (for messages).
PickleBudget = collections.namedtuple("PickleBudget", "array_bytes stream_bytes what")

#: The book's mnist.pkl.gz, and copies of it.
MNIST_PICKLE = PickleBudget(MAX_PICKLE_BYTES, MAX_PICKLE_BYTES, "an MNIST pickle")


def _expanded_budget():
    """The expanded set of ``python -m fastnn.expand_mnist``: 250,000 float32
    training images (the largest array) and int64 labels, then the 10,000
    of validation and of test; the stream may hold their bytes once (protocol
    5, as fastnn writes it) or as UTF-8 text up to twice as long (protocol 2,
    as fastnn wrote it before), plus a megabyte for the pickle's own
    opcodes."""
    rows = 5 * (60000 - _N_VALIDATION) + 2 * _N_VALIDATION
    arrays = rows * (784 * 4 + 8)
    return PickleBudget(5 * (60000 - _N_VALIDATION) * 784 * 4, 2 * arrays + (1 << 20),
                        "an expanded MNIST pickle")


#: fastnn's ``mnist_expanded.pkl.gz``: sized to what that file declares, no more.
EXPANDED_PICKLE = _expanded_budget()


class _NumpyUnpickler(pickle._Unpickler):
    """Unpickler that builds numpy arrays and nothing else, within a budget.

    A pickle can run any code it names; mnist.pkl.gz only needs the handful
    of callables numpy uses to rebuild arrays, so those are all we allow.
    A pickle also declares the sizes of what it builds, and the allowed
    callables allocate what they are told to: so every array's size is
    checked against the budget (:data:`MNIST_PICKLE` unless told otherwise)
    before it is allocated, and the opcodes the book's pickle never uses
    (objects built by ``cls(*args)``, bytearrays sized before they are read)
    are refused.  This is the pure-Python unpickler (``pickle._Unpickler``):
    the C one allocates a declared string before reading it, and calls
    ``__setstate__`` where nothing can check it first.
    """
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, f, budget=MNIST_PICKLE, **kwargs):
        super().__init__(_Bounded(f, budget), **kwargs)
        self.budget = budget

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError("refusing to load {}.{}: not a numpy array pickle".format(
                module, name))
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if module.startswith("numpy.core"):       # the book's pickle predates numpy._core
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)

    def load_reduce(self):
        func, args = self.stack[-2], self.stack[-1]
        if func is np.ndarray or func is np._core.multiarray._reconstruct:
            shape, dtype = (args[0], args[1] if len(args) > 1 else float) if func is np.ndarray \
                else (args[1], args[2])
            _check_array_size(shape, dtype, self.budget)
        elif func is np._core.numeric._frombuffer:     # (bytes already read, dtype, shape, order)
            if not isinstance(args, tuple) or len(args) != 4:
                raise pickle.UnpicklingError("not a numpy array's arguments")
            _check_array_size(args[2], args[1], self.budget)
        super().load_reduce()
    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_build(self):
        inst, state = self.stack[-2], self.stack[-1]
        if isinstance(inst, np.ndarray):           # (version,) shape, dtype, fortran, data
            if not isinstance(state, tuple) or len(state) not in (4, 5):
                raise pickle.UnpicklingError("not a numpy array's state")
            _check_array_size(*state[-4:-2], self.budget)
        super().load_build()
    dispatch[pickle.BUILD[0]] = load_build

    def refuse(self):
        raise pickle.UnpicklingError("an opcode the book's pickle does not use")
    for _op in (pickle.NEWOBJ, pickle.NEWOBJ_EX, pickle.INST, pickle.OBJ, pickle.BYTEARRAY8):
        dispatch[_op[0]] = refuse
    del _op


def _check_array_size(shape, dtype, budget=MNIST_PICKLE):
    """Refuse an array of non-numbers or of more than the budget's
    ``array_bytes``, before numpy allocates it."""
    try:
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    except (TypeError, ValueError) as e:
        raise pickle.UnpicklingError("an array of shape {!r} and dtype {!r} ({})".format(
            shape, dtype, e)) from None
    if dtype.kind not in "biuf":
        raise pickle.UnpicklingError("an array of {}, not of numbers".format(dtype))
    if any(d < 0 for d in shape) or math.prod(shape) * dtype.itemsize > budget.array_bytes:
        raise pickle.UnpicklingError("an array of shape {} of {}: more than the {:,} bytes {} "
                                     "holds".format(shape, dtype, budget.array_bytes, budget.what))


def _latin1_encode(text, encoding="utf-8"):
    """``_codecs.encode`` as Python 2 pickles of bytes use it (latin1 only)."""
    if not isinstance(text, str) or str(encoding).lower().replace("-", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError("encode({}, {!r}): only latin1 text is expected".format(
            type(text).__name__, encoding))
    return text.encode("latin1")


class _Bounded:
    """A binary stream that delivers at most ``budget.stream_bytes`` bytes
    in all, and refuses a request for more before reading it (so nothing of
    the requested size is allocated)."""

    def __init__(self, f, budget):
        self.f, self.left, self.budget = f, budget.stream_bytes, budget

    def _take(self, data):
        self.left -= len(data)
        return data

    def read(self, n=-1):
        if n is None or n < 0 or n > self.left:
            raise pickle.UnpicklingError("it declares {} bytes, more than the {:,} {} "
                                         "holds".format("more" if n is None or n < 0 else
                                                        "{:,}".format(n), self.budget.stream_bytes,
                                                        self.budget.what))
        return self._take(self.f.read(n))

    def readline(self):
        line = self.f.readline(self.left + 1)
        if len(line) > self.left:
            raise pickle.UnpicklingError("it holds more than the {:,} bytes of {}".format(
                self.budget.stream_bytes, self.budget.what))
        return self._take(line)


def _check_images_labels(path, what, images, labels):
    """Validate one (images, labels) pair; return (float32 (n,784), int64 (n,))."""
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise ValueError("{}: {} must be a pair of numpy arrays, found {} and {}".format(
            path, what, type(images).__name__, type(labels).__name__))
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(len(images), 784)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError("{}: {} images must have shape (n, 784) (28x28 pixels), found {}".format(
            path, what, images.shape))
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError("{}: {} has {} images but labels of shape {}; expected ({},)".format(
            path, what, len(images), labels.shape, len(images)))
    if images.dtype.kind not in "fiu" or labels.dtype.kind not in "iu":
        raise ValueError("{}: {} must hold float images and integer labels, found {} and {}".format(
            path, what, images.dtype, labels.dtype))
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.size and not (images.min() >= 0.0 and images.max() <= 1.0):
        # 0..255 pixels would train, badly, without an error; stop here.
        raise ValueError("{}: {} pixel values must lie in [0, 1], found [{}, {}]".format(
            path, what, images.min(), images.max()))
    return images, _check_labels(path, what, labels)


def _check_labels(path, what, labels):
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError("{}: {} labels must be digits 0..9, found [{}, {}]".format(
            path, what, labels.min(), labels.max()))
    return labels


def _load_pickle(path, budget=MNIST_PICKLE):
    """The book's mnist.pkl.gz (or, with ``budget=EXPANDED_PICKLE``,
    fastnn's mnist_expanded.pkl.gz) as three validated (float32, int64) pairs."""
    with _open_data(path) as f:      # a missing or unreadable file raises here, as itself
        try:
            data = _NumpyUnpickler(f, budget, encoding="latin1").load()
        except Exception as e:       # any way a damaged or hostile pickle can fail
            raise ValueError("{}: cannot read {} ({}: {})".format(
                path, "the book's MNIST pickle" if budget is MNIST_PICKLE else budget.what[3:],
                type(e).__name__, e)) from None
    if not (isinstance(data, (tuple, list)) and len(data) == 3
            and all(isinstance(d, (tuple, list)) and len(d) == 2 for d in data)):
        raise ValueError("{}: expected a 3-tuple (training, validation, test) of "
                         "(images, labels) pairs, found {}".format(path, type(data).__name__))
    return tuple(_check_images_labels(path, what, *pair)
                 for what, pair in zip(("training data", "validation data", "test data"), data))


def load_expanded_pickle(path):
    """The file ``python -m fastnn.expand_mnist`` writes
    (``mnist_expanded.pkl.gz``) as :func:`load_mnist` returns MNIST: three
    validated ``(float32 images, int64 labels)`` pairs, the first holding the
    250,000 expanded training images.

    It is read by the same bounded unpickler as the book's ``mnist.pkl.gz``,
    with a budget sized to the expanded set (:data:`EXPANDED_PICKLE`): nothing
    larger than its arrays is allocated, and nothing but numpy arrays is
    built.  Not kept in the in-process cache (it is 850 MB).
    """
    return _load_pickle(os.fspath(path), EXPANDED_PICKLE)


# --------------------------------------------------------------------------
# Loading, with an in-process cache
# --------------------------------------------------------------------------

_cache = collections.OrderedDict()
_CACHE_SIZE = 4


def clear_cache():
    """Forget the arrays decoded so far in this process."""
    _cache.clear()


def _cache_key(kind, location):
    stamps = []
    for role, path in sorted(location.files.items()):
        st = os.stat(path)
        stamps.append((role, os.path.realpath(path), st.st_mtime_ns, st.st_size))
    return (kind, location.kind, tuple(stamps))


def _cached(kind, location, build):
    key = _cache_key(kind, location)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    value = build(location)
    _cache[key] = value
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return value


def _read_only(*arrays):
    for a in arrays:
        a.flags.writeable = False


def _build_raw(location):
    if location.kind == "pickle":
        return _raw_from_pickle(location.files["pickle"])
    f = location.files
    raw = {role: read_idx(f[role]) for role in _ROLES}
    for part in ("train", "test"):
        images, labels = raw[part + "_images"], raw[part + "_labels"]
        where = "{} and {}".format(f[part + "_images"], f[part + "_labels"])
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError("{}: expected uint8 images of shape (n, 28, 28), found {} {}".format(
                f[part + "_images"], images.dtype, images.shape))
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError("{}: expected uint8 labels of shape (n,), found {} {}".format(
                f[part + "_labels"], labels.dtype, labels.shape))
        if len(images) != len(labels):
            raise ValueError("{}: {} images but {} labels".format(where, len(images), len(labels)))
        _check_labels(f[part + "_labels"], part + " labels", labels)
    if len(raw["train_images"]) <= _N_VALIDATION:
        raise ValueError("{}: {} training images; need more than {} to split off the "
                         "validation set".format(f["train_images"], len(raw["train_images"]),
                                                 _N_VALIDATION))
    _read_only(*raw.values())
    return raw


def _raw_from_pickle(path):
    """Undo the book's pixel/256 scaling; exact, since pixel/256 is exact in float32."""
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _load_pickle(path)

    def pixels(x):
        p = x * np.float32(256)
        if not np.array_equal(p, np.floor(p)) or (p.size and p.max() > 255):
            raise ValueError("{}: images are not pixel/256 values, so the raw uint8 pixels "
                             "cannot be recovered".format(path))
        return p.astype(np.uint8).reshape(-1, 28, 28)

    raw = {"train_images": np.concatenate([pixels(tr_x), pixels(va_x)]),
           "train_labels": np.concatenate([tr_y, va_y]).astype(np.uint8),
           "test_images": pixels(te_x), "test_labels": te_y.astype(np.uint8)}
    _read_only(*raw.values())
    return raw


def _build_mnist(location):
    if location.kind == "pickle":
        sets = _load_pickle(location.files["pickle"])
    else:
        # Reuse the uint8 arrays if load_mnist_raw already decoded them, but do
        # not keep them alive just for this: the float32 arrays are all we need.
        raw = _cache.get(_cache_key("raw", location)) or _build_raw(location)

        def scale(images):
            # pixel/256, as in the book's pickle; exact in float32 (a power of two).
            return images.reshape(len(images), 784) * np.float32(1 / 256)

        train_x, test_x = scale(raw["train_images"]), scale(raw["test_images"])
        train_y = raw["train_labels"].astype(np.int64)
        test_y = raw["test_labels"].astype(np.int64)
        _read_only(train_x, test_x, train_y, test_y)   # before slicing: views inherit it
        cut = len(train_x) - _N_VALIDATION
        sets = ((train_x[:cut], train_y[:cut]), (train_x[cut:], train_y[cut:]), (test_x, test_y))
    for pair in sets:
        _read_only(*pair)
    return sets


def load_mnist(path=None):
    """Return MNIST as the book's ``load_data()`` does:
    ``(training_data, validation_data, test_data)``.

    Each is a pair ``(images, labels)``: images float32 of shape (n, 784),
    pixel/256 so they lie in [0, 1); labels int64 of shape (n,).  Training is
    the first 50,000 images of the MNIST training file, validation the last
    10,000 (the book tunes hyper-parameters on those, never on the test set),
    test the 10,000 test images.

    The arrays are decoded once per process and shared between calls, so they
    are **read-only**; take ``.copy()`` before modifying one.  See
    :func:`find_data` for where ``path`` may point.
    """
    return _cached("mnist", find_data(path), _build_mnist)


def load_mnist_raw(path=None):
    """Return the unscaled MNIST pixels, for code that transforms images
    (shifting them to expand the training set, say).

    A dict with uint8 ``train_images`` (60000, 28, 28), ``train_labels``
    (60000,), ``test_images`` (10000, 28, 28), ``test_labels`` (10000,).  The
    training arrays hold all 60,000 images: training then validation.
    Read-only, shared between calls, like :func:`load_mnist`.
    """
    return dict(_cached("raw", find_data(path), _build_raw))


def load_data_shared(filename=None, expanded=False, seed=0, folder=None):
    """``network3.load_data_shared``'s work (see its docstring): MNIST as
    ``[training, validation, test]`` pairs, the book's pickle of the
    expanded set read as it is, or the expanded set built once and cached in
    ``folder`` (network3's ``cache_dir``), saying where on the run that
    builds it."""
    path = filename
    if filename is not None and os.path.basename(os.fspath(filename)).startswith("mnist_expanded"):
        if os.path.isfile(filename):      # written by python -m fastnn.expand_mnist
            return list(load_expanded_pickle(filename))
        expanded, path = True, None
    tr, va, te = load_mnist(path)
    if expanded:
        import glob
        from . import expand
        pattern = os.path.join(folder or cache_dir(), "mnist_expanded_*.npz")
        before = set(glob.glob(pattern))
        tr = expand.load_expanded(path, seed=seed, cache=folder or True)
        for built in sorted(set(glob.glob(pattern)) - before):   # only on the run that builds it
            print("network3: cached the expanded training set ({:,} images) in {} ({:.0f} MB); "
                  "load_data_shared(cache_dir=...) chooses another folder".format(
                      len(tr[0]), built, os.path.getsize(built) / 1e6))
    return [tr, va, te]
