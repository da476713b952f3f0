"""The expanded MNIST training set of the book's ``expand_mnist.py``.

Each of the 50,000 training images is kept and joined by four copies shifted
by one pixel (down, up, right, left, in the book's order), the pixel row or
column that enters filled with zeros; the 250,000 (image, label) pairs are
then shuffled.  The book's script looped in Python for minutes and shuffled
with an unseeded ``random.shuffle``; here the shifts are four array slices
(a second or two), the shuffle is a permutation drawn from
``numpy.random.default_rng(seed)``, and the result is cached on disk, as
uint8 pixels (the training images are exactly ``pixel/256``), beside the
MNIST download cache of :mod:`fastnn.datasets`.

    >>> from fastnn import expand
    >>> x, y = expand.load_expanded()      # (250000, 784) float32, (250000,) int64
"""
import hashlib
import os

import numpy as np

from . import datasets
from ._files import atomic_write

#: The four shifts of expand_mnist.py, in its order: (roll, axis, zeroed row/column).
SHIFTS = ((1, 0, 0), (-1, 0, 27), (1, 1, 0), (-1, 1, 27))
_FORMAT = 1


def shift_images(images):
    """``images`` (n, 28, 28) -> (n, 5, 28, 28): each image followed by its
    copies shifted one pixel down, up, right and left, zero-filled (the
    book's ``np.roll`` with the wrapped row or column zeroed)."""
    images = np.asarray(images)
    n, h, w = images.shape
    out = np.zeros((n, 5, h, w), dtype=images.dtype)
    out[:, 0] = images
    out[:, 1, 1:, :] = images[:, :-1, :]    # roll +1 along rows: down
    out[:, 2, :-1, :] = images[:, 1:, :]    # roll -1 along rows: up
    out[:, 3, :, 1:] = images[:, :, :-1]    # roll +1 along columns: right
    out[:, 4, :, :-1] = images[:, :, 1:]    # roll -1 along columns: left
    return out


def expand(images, labels, seed=0):
    """The expanded, shuffled set for ``images`` (n, 784) or (n, 28, 28) and
    ``labels`` (n,): returns ``(images (5n, 784), labels (5n,))`` in the
    dtype given, shuffled by ``default_rng(seed).permutation``."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    n = len(images)
    if len(labels) != n:
        raise ValueError("images and labels differ in length: {} != {}".format(n, len(labels)))
    shifted = shift_images(images.reshape(n, 28, 28)).reshape(5*n, 784)
    order = np.random.default_rng(seed).permutation(5*n)
    return shifted[order], np.repeat(labels, 5)[order]


def cache_path(training_images, seed=0, folder=None):
    """Where the expanded set for these training images and seed is cached
    (in ``folder``, by default the MNIST download cache): the file name
    carries a digest of the images, so another source of MNIST never picks
    up a stale file."""
    digest = hashlib.sha1(np.ascontiguousarray(training_images).tobytes()).hexdigest()[:16]
    return os.path.join(folder or datasets.cache_dir(), "mnist_expanded_v{}_seed{}_{}.npz".format(
        _FORMAT, seed, digest))


def _as_pixels(x):
    """The uint8 pixels behind ``x = pixel/256``, or None if ``x`` is not
    exactly of that form (then the cache stores float32)."""
    scaled = x * np.float32(256)
    pixels = scaled.astype(np.uint8)
    if np.array_equal(pixels, scaled):
        return pixels
    return None


def _atomic_save(path, **arrays):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    with atomic_write(path) as f:     # readers see the old file or the whole new one
        np.savez(f, **arrays)

def load_expanded(path=None, seed=0, cache=True):
    """Return ``(x, y)``: the 250,000 expanded training images as float32
    ``pixel/256`` rows of 784 and their int64 labels.

    ``path`` is passed to :func:`fastnn.datasets.load_mnist` to find MNIST.
    With ``cache`` (default) the set is read from, or written to,
    :func:`cache_path` (an atomic write, so concurrent first runs are safe);
    ``cache`` may also name the folder to cache in.  The file holds a sha256
    of its arrays; a cache file that cannot be read or does not match it is
    rebuilt, not used.
    """
    (train_x, train_y), _, _ = datasets.load_mnist(path)
    pixels = _as_pixels(np.asarray(train_x))
    source = pixels if pixels is not None else np.asarray(train_x, dtype=np.float32)
    target = cache_path(source, seed, None if cache is True else cache) if cache else None
    if target is not None and os.path.exists(target):
        cached = _read_cache(target, 5*len(train_x))
        if cached is not None:
            return _to_float(cached[0]), cached[1].astype(np.int64)
    images, labels = expand(source, np.asarray(train_y), seed)
    if target is not None:
        try:
            _atomic_save(target, images=images, labels=labels, sha256=_digest(images, labels))
        except OSError:
            pass                          # a read-only cache only costs the rebuild next time
    return _to_float(images), labels.astype(np.int64)


def _digest(images, labels):
    """The sha256 of the arrays' dtypes, shapes and bytes, as a string."""
    h = hashlib.sha256()
    for a in (images, labels):
        h.update("{}{}".format(a.dtype.str, a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _read_cache(path, n):
    """``(images, labels)`` from the cache file at ``path``, or None when it
    is unreadable (truncated, say), has the wrong shapes, or its arrays do
    not match the sha256 written with them: then the caller rebuilds it."""
    try:
        with np.load(path) as data:
            images, labels, digest = data["images"], data["labels"], str(data["sha256"])
    except Exception:                     # zipfile.BadZipFile, EOFError, OSError, KeyError...
        return None
    if images.shape != (n, 784) or labels.shape != (n,) or digest != _digest(images, labels):
        return None
    return images, labels


def _to_float(images):
    if images.dtype == np.uint8:
        out = images.astype(np.float32)
        out *= np.float32(1/256)
        return out
    return np.asarray(images, dtype=np.float32)
