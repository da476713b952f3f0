"""The book's runs, on the real MNIST data, reach the book's results.

These train for 30 epochs on 50,000 images; with the compiled kernels each
takes seconds, so they stay in the default suite.
"""
import random
import re

import numpy as np
import pytest

import fastnn
from fastnn import mnist_loader, network, network2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def book_data(mnist_path):
    return mnist_loader.load_data_wrapper(mnist_path)


@pytest.fixture
def python2_shuffle():
    fastnn.set_shuffle("python2")
    yield
    fastnn.set_shuffle("python3")


def test_self_check_retraces_the_books_first_epoch(book_data, python2_shuffle, capsys):
    """Seeded as the book's figure scripts are and shuffling as Python 2.7 did,
    network2 classifies 9270 of the 10,000 validation images after the first
    epoch, as the book's own run did."""
    training_data, validation_data, _ = book_data
    training_data = list(training_data)
    random.seed(12345678)
    np.random.seed(12345678)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    _, accuracy, _, _ = net.SGD(training_data, 1, 10, 0.1, lmbda=5.0,
                                evaluation_data=validation_data,
                                monitor_evaluation_accuracy=True)
    assert accuracy == [9270]
    assert "Accuracy on evaluation data: 9270 / 10000" in capsys.readouterr().out


def test_chapter1_network_reaches_94_5_percent(book_data, capsys):
    """[784, 30, 10], 30 epochs, mini-batch 10, eta 3.0: best test epoch >= 94.5%."""
    training_data, _, test_data = book_data
    random.seed(1)
    np.random.seed(1)
    net = network.Network([784, 30, 10])
    net.SGD(list(training_data), 30, 10, 3.0, test_data=test_data)
    correct = [int(m) for m in re.findall(r"^Epoch \d+: (\d+) / 10000$", capsys.readouterr().out, re.M)]
    assert len(correct) == 30
    assert max(correct) >= 9450, "best epoch {} / 10000".format(max(correct))


def test_network2_cross_entropy_l2_reaches_95_5_percent(book_data):
    """[784, 30, 10], cross-entropy, eta 0.5, lmbda 5.0, 30 epochs: best
    validation epoch >= 95.5%."""
    training_data, validation_data, _ = book_data
    random.seed(2)
    np.random.seed(2)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    _, accuracy, _, _ = net.SGD(list(training_data), 30, 10, 0.5, lmbda=5.0,
                                evaluation_data=validation_data,
                                monitor_evaluation_accuracy=True)
    assert len(accuracy) == 30
    assert max(accuracy) >= 9550, "best epoch {} / 10000".format(max(accuracy))
