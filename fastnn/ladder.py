"""Chapter 6's ladder of convolutional networks: each rung's layers and the
book's hyper-parameters, for ``fastnn train --preset`` and
``benchmarks/chapter6.py``.

Each rung is the network the book trains in "Introducing convolutional
networks" and after; ``book`` is the test accuracy the book reports for it
(at the epoch of best validation accuracy).
"""
from collections import namedtuple

from . import network3
from .network3 import ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer

#: The mini-batch size of every rung.
MB = 10

Rung = namedtuple("Rung", "description book layers epochs eta lmbda expanded")


def one_conv(act=None):
    return [ConvPoolLayer(image_shape=(MB, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
            FullyConnectedLayer(n_in=20*12*12, n_out=100),
            SoftmaxLayer(n_in=100, n_out=10)]


def two_conv(act=network3.sigmoid, fc=((100, 0.0),), out_dropout=0.0):
    layers = [ConvPoolLayer(image_shape=(MB, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                            activation_fn=act),
              ConvPoolLayer(image_shape=(MB, 20, 12, 12), filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                            activation_fn=act)]
    n_in = 40*4*4
    for n_out, p in fc:
        layers.append(FullyConnectedLayer(n_in=n_in, n_out=n_out, activation_fn=act, p_dropout=p))
        n_in = n_out
    layers.append(SoftmaxLayer(n_in=n_in, n_out=10, p_dropout=out_dropout))
    return layers


LADDER = {
    "one-conv": Rung("one conv-pool layer (20@5x5), FC 100, softmax; sigmoid", 0.9878,
                     lambda: one_conv(), 60, 0.1, 0.0, False),
    "two-conv": Rung("two conv-pool layers (20, 40 @5x5), FC 100; sigmoid", 0.9906,
                     lambda: two_conv(), 60, 0.1, 0.0, False),
    "relu": Rung("two conv-pool, FC 100; ReLU, lmbda 0.1", 0.9923,
                 lambda: two_conv(ReLU), 60, 0.03, 0.1, False),
    "expanded": Rung("as relu, on the 250,000-image expanded training set", 0.9937,
                     lambda: two_conv(ReLU), 60, 0.03, 0.1, True),
    "extra-fc": Rung("as expanded, with a second FC 100 layer", 0.9943,
                     lambda: two_conv(ReLU, fc=((100, 0.0), (100, 0.0))), 60, 0.03, 0.1, True),
    "dropout": Rung("two FC 1000 layers with dropout 0.5, expanded data, 40 epochs", 0.9960,
                    lambda: two_conv(ReLU, fc=((1000, 0.5), (1000, 0.5)), out_dropout=0.5), 40, 0.03,
                    0.0, True),
    "ensemble": Rung("majority vote of five dropout networks", 0.9967, None, 40, 0.03, 0.0, True),
}
