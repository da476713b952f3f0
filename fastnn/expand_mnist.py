"""``python -m fastnn.expand_mnist``: the book's expand_mnist.py as a command.

Writes MNIST with its training set expanded to 250,000 images (each image
and its four one-pixel shifts, shuffled; see :mod:`fastnn.expand`) to a
gzipped pickle of numpy arrays, ``((train_x, train_y), (validation_x,
validation_y), (test_x, test_y))``, at pickle protocol 5 (Python 3.8 or
later reads it).  Like the book's program it writes
``../data/mnist_expanded.pkl.gz``, relative to the folder it is run from,
and leaves an existing file alone; ``--out`` names another file.
``network3.load_data_shared("../data/mnist_expanded.pkl.gz")`` reads it.

fastnn programs need not run this: ``load_data_shared(expanded=True)``
builds the same set and caches it by itself.
"""
import argparse
import gzip
import os
import pickle

from . import datasets, expand
from ._files import atomic_write

#: Where the book's program put its output, relative to the working folder.
DEFAULT_OUT = os.path.join("..", "data", "mnist_expanded.pkl.gz")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn.expand_mnist",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="file to write (default: %(default)s, as the book's program)")
    parser.add_argument("--data", default=None,
                        help="folder holding the MNIST files, or mnist.pkl.gz (default: "
                             "$FASTNN_DATA, else the per-user cache)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle")
    args = parser.parse_args(argv)
    print("Expanding the MNIST training set")
    if os.path.exists(args.out):
        print("The expanded training set already exists.  Exiting.")
        return
    _, validation, test = datasets.load_mnist(args.data)
    training = expand.load_expanded(args.data, seed=args.seed, cache=False)
    print("Saving expanded data.  This may take a few minutes.")
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    for array in training:
        # read-only arrays go into a protocol 5 pickle as their own bytes, with
        # no copy made here and none as text (protocol 2 held two of each)
        array.flags.writeable = False
    with atomic_write(args.out, "wb") as raw:
        # level 1: the pixels compress nearly as well, in a fraction of the time
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as f:
            pickle.dump((training, validation, test), f, protocol=5)
    print("Wrote {} ({:,} training images, {:.0f} MB)".format(
        args.out, len(training[0]), os.path.getsize(args.out) / 1e6))


if __name__ == "__main__":
    main()
